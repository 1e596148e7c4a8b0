package io.shopmesh.mesh.proxy.http;

/** Which side of the workload a listener serves. */
public enum Direction {
  /** virtualOutbound: the app's calls to other services. */
  OUTBOUND,
  /** virtualInbound: calls to the app from other workloads. */
  INBOUND,
  /** A gateway (router role) listener. */
  GATEWAY
}
