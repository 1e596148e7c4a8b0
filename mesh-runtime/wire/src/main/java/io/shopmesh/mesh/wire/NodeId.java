package io.shopmesh.mesh.wire;

/**
 * Istio's Envoy node id, {@code sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local}: the proxy type, its
 * IP, pod and namespace, and the namespace's DNS domain.
 *
 * @param type {@code sidecar} or {@code router}
 */
public record NodeId(Type type, String ip, String podName, String namespace) {

  /** The cluster DNS suffix of every Kubernetes service name. */
  public static final String DOMAIN_SUFFIX = "svc.cluster.local";

  /** The namespace when the id does not name one. */
  public static final String DEFAULT_NAMESPACE = "default";

  private static final char SEP = '~';

  public enum Type {
    SIDECAR("sidecar"),
    ROUTER("router");

    private final String prefix;

    Type(String prefix) {
      this.prefix = prefix;
    }

    /** The first field of the node id. */
    public String prefix() {
      return prefix;
    }

    /** {@code router} is a gateway; anything else is a sidecar, as Istio reads it. */
    public static Type of(String prefix) {
      return ROUTER.prefix.equals(prefix) ? ROUTER : SIDECAR;
    }
  }

  /** {@code type~ip~pod.ns~ns.svc.cluster.local}. */
  public String format() {
    return type.prefix() + SEP + ip + SEP + podName + "." + namespace + SEP + dnsDomain(namespace);
  }

  /** {@code ns.svc.cluster.local}. */
  public static String dnsDomain(String namespace) {
    return namespace + "." + DOMAIN_SUFFIX;
  }

  public static String format(Type type, String ip, String podName, String namespace) {
    return new NodeId(type, ip, podName, namespace).format();
  }

  /**
   * Reads a node id. Missing parts are empty (ip, pod) or {@link #DEFAULT_NAMESPACE}; a pod without
   * a namespace ({@code ~pod~}) keeps the whole field as its name.
   */
  public static NodeId parse(String id) {
    String[] parts = (id == null ? "" : id).split(String.valueOf(SEP), -1);
    Type type = Type.of(parts[0]);
    String ip = parts.length > 1 ? parts[1] : "";
    String pod = "";
    String ns = DEFAULT_NAMESPACE;
    if (parts.length > 2) {
      String podNs = parts[2];
      int dot = podNs.lastIndexOf('.');
      pod = dot > 0 ? podNs.substring(0, dot) : podNs;
      if (dot > 0) {
        ns = podNs.substring(dot + 1);
      }
    }
    return new NodeId(type, ip, pod, ns);
  }

  /** Whether the id has the pod.namespace field (so {@link #namespace()} is not a default). */
  public static boolean hasPodNamespace(String id) {
    if (id == null) {
      return false;
    }
    String[] parts = id.split(String.valueOf(SEP), -1);
    return parts.length > 2 && parts[2].lastIndexOf('.') > 0;
  }

  @Override
  public String toString() {
    return format();
  }
}
