package io.shopmesh.mesh.wire;

/** Istio's node metadata keys (Envoy's node.metadata) that the proxy sends and istiod reads. */
public final class NodeMetadata {

  public static final String NAME = "NAME";
  public static final String NAMESPACE = "NAMESPACE";
  public static final String LABELS = "LABELS";
  public static final String INSTANCE_IPS = "INSTANCE_IPS";
  public static final String WORKLOAD_NAME = "WORKLOAD_NAME";
  public static final String POD_PORTS = "POD_PORTS";
  public static final String CLUSTER_ID = "CLUSTER_ID";
  public static final String MESH_ID = "MESH_ID";
  public static final String INTERCEPTION_MODE = "INTERCEPTION_MODE";

  /** CLUSTER_ID of the one cluster this mesh knows. */
  public static final String DEFAULT_CLUSTER_ID = "Kubernetes";

  /** MESH_ID: Istio's default trust domain. */
  public static final String DEFAULT_MESH_ID = "cluster.local";

  private NodeMetadata() {}
}
