package io.shopmesh.mesh.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The mesh-wide settings istiod reads, as Istio's MeshConfig ({@code istiod --meshConfig}, the
 * {@code mesh} key of the {@code istio} ConfigMap), of which the mesh honours:
 *
 * <ul>
 *   <li>{@code outboundTrafficPolicy.mode}: {@code ALLOW_ANY} (Istio's default) sends traffic to
 *       hosts and ports no service declares to {@code PassthroughCluster}; {@code REGISTRY_ONLY}
 *       blocks it ({@code BlackHoleCluster}, HTTP answered 502 by the {@code block_all} virtual
 *       host).
 * </ul>
 *
 * Other fields are ignored.
 */
public record MeshSettings(OutboundTrafficPolicy outboundTrafficPolicy) {

  /** Istio's MeshConfig.OutboundTrafficPolicy.Mode (ALLOW_ANY_DYNAMIC_DNS is not built). */
  public enum OutboundTrafficPolicy {
    ALLOW_ANY,
    REGISTRY_ONLY
  }

  public static final MeshSettings DEFAULT = new MeshSettings(OutboundTrafficPolicy.ALLOW_ANY);

  public MeshSettings {
    if (outboundTrafficPolicy == null) {
      outboundTrafficPolicy = OutboundTrafficPolicy.ALLOW_ANY;
    }
  }

  public boolean allowAny() {
    return outboundTrafficPolicy == OutboundTrafficPolicy.ALLOW_ANY;
  }

  /** Reads Istio MeshConfig YAML; an empty text is the default. */
  public static MeshSettings parse(String yaml) {
    if (yaml == null || yaml.isBlank()) {
      return DEFAULT;
    }
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(yaml);
    } catch (IOException e) {
      throw new IllegalArgumentException("mesh config: " + e.getMessage(), e);
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      return DEFAULT;
    }
    JsonNode mode = root.path("outboundTrafficPolicy").path("mode");
    if (mode.isMissingNode() || mode.isNull()) {
      return DEFAULT;
    }
    String m = mode.asText().toUpperCase(Locale.ROOT);
    try {
      return new MeshSettings(OutboundTrafficPolicy.valueOf(m));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "mesh config: outboundTrafficPolicy.mode " + mode.asText() + " is not supported", e);
    }
  }

  public static MeshSettings load(Path file) {
    try {
      return parse(Files.readString(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
