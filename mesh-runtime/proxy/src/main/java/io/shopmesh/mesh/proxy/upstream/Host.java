package io.shopmesh.mesh.proxy.upstream;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** One upstream endpoint with its load, health and outlier-detection state. */
public final class Host {
  public final String address;
  public final int port;

  /** The endpoint runs a sidecar (tlsMode istio): in interception-none mode dial its :15006. */
  public final boolean sidecar;

  /** istio.workload metadata "name;namespace;canonical-name;revision;cluster", or "". */
  public final String workloadMeta;

  public final String hostname;
  public volatile int weight = 1;
  public volatile boolean edsHealthy = true;

  public final AtomicInteger active = new AtomicInteger();
  public final AtomicInteger cxActive = new AtomicInteger();
  public final AtomicLong rqTotal = new AtomicLong();
  public final AtomicLong rqSuccess = new AtomicLong();
  public final AtomicLong rqError = new AtomicLong();
  public final AtomicLong rqTimeout = new AtomicLong();
  public final AtomicLong cxConnectFail = new AtomicLong();

  // Outlier detection, guarded by this.
  int consecutive5xx;
  int consecutiveGatewayFailure;
  int ejections;
  volatile long ejectedUntilNanos;

  public Host(String address, int port, boolean sidecar, String workloadMeta, String hostname) {
    this.address = address;
    this.port = port;
    this.sidecar = sidecar;
    this.workloadMeta = workloadMeta == null ? "" : workloadMeta;
    this.hostname = hostname;
  }

  public String key() {
    return address + ":" + port;
  }

  public boolean ejected() {
    long u = ejectedUntilNanos;
    return u != 0 && System.nanoTime() < u;
  }

  public boolean healthy() {
    return edsHealthy && !ejected();
  }

  public int ejectionCount() {
    return ejections;
  }

  @Override
  public String toString() {
    return key();
  }
}
