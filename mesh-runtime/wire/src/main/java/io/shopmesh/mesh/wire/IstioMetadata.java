package io.shopmesh.mesh.wire;

/**
 * Istio's keys in Envoy metadata ({@code filter_metadata.istio}) and the peer-metadata headers the
 * sidecars exchange.
 */
public final class IstioMetadata {

  /** The filter-metadata namespace Istio writes under. */
  public static final String ISTIO = "istio";

  /** Cluster: the services the cluster stands for (host, name, namespace). */
  public static final String SERVICES = "services";

  /** Cluster: the subset of an {@code outbound|port|subset|host} cluster. */
  public static final String SUBSET = "subset";

  /** Cluster: the service port. */
  public static final String DEFAULT_ORIGINAL_PORT = "default_original_port";

  /** Cluster or route: the Istio config it came from, {@code /apis/.../namespaces/ns/kind/name}. */
  public static final String CONFIG = "config";

  /** Endpoint: {@code istio} when the endpoint speaks Istio mTLS. */
  public static final String TLS_MODE = "tlsMode";

  /** The {@link #TLS_MODE} value of an endpoint with a sidecar. */
  public static final String TLS_MODE_ISTIO = "istio";

  /** Endpoint: {@code name;namespace;canonical-name;revision;cluster}. */
  public static final String WORKLOAD = "workload";

  /** Keys of one entry in {@link #SERVICES}. */
  public static final String SERVICE_HOST = "host";

  public static final String SERVICE_NAME = "name";
  public static final String SERVICE_NAMESPACE = "namespace";

  /** Istio's metadata-exchange headers between sidecars. */
  public static final String PEER_METADATA_HEADER = "x-envoy-peer-metadata";

  public static final String PEER_METADATA_ID_HEADER = "x-envoy-peer-metadata-id";

  /** Workload labels naming the canonical service and revision. */
  public static final String CANONICAL_NAME_LABEL = "service.istio.io/canonical-name";

  public static final String CANONICAL_REVISION_LABEL = "service.istio.io/canonical-revision";

  private IstioMetadata() {}

  /** {@code /apis/networking.istio.io/v1alpha3/namespaces/ns/kind/name}, as Istio writes it. */
  public static String configPath(String kind, String namespace, String name) {
    return "/apis/networking.istio.io/v1alpha3/namespaces/" + namespace + "/" + kind + "/" + name;
  }
}
