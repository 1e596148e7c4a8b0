package io.shopmesh.mesh.wire;

/**
 * The project's own filter-metadata namespace on routes: where istiod read the rule a route comes
 * from, so that a proxy's decision records can name the YAML line. Istio's {@code istio.config}
 * names the object; this names the place in its file.
 */
public final class SourceMetadata {

  /** The filter-metadata namespace. */
  public static final String NAMESPACE = "shopmesh";

  /**
   * {@code file:line} of the rule's match (or of the rule when it has none); for config read from
   * Kubernetes, {@code kubernetes:/Kind/ns/name}.
   */
  public static final String SOURCE = "source";

  /** The index of the rule in the VirtualService's http (or tcp, tls) list. */
  public static final String RULE = "rule";

  /** Which list the rule is in: {@code http}, {@code tcp} or {@code tls}. */
  public static final String RULE_KIND = "kind";

  /** The index of the match within the rule (absent when the rule has no match). */
  public static final String MATCH = "match";

  private SourceMetadata() {}
}
