package io.shopmesh.mesh.proxy.http;

import io.shopmesh.mesh.proxy.stats.ResponseFlags;
import io.shopmesh.mesh.proxy.upstream.Host;
import java.time.Instant;

/**
 * What is known about one request for telemetry, as Envoy's StreamInfo: response flags and details,
 * byte counts, timing, the upstream host. Written by the connection manager, the filters and the
 * router; read by the stats filter and the access log. One event loop thread only.
 */
public final class StreamInfo {
  private final long startNanos = System.nanoTime();
  private final Instant start = Instant.now();
  private int flags;
  private String details = "-";
  private long bytesReceived;
  private long bytesSent;
  private long requestHeaderBytes;
  private long responseHeaderBytes;
  private long upstreamServiceTime = -1;
  private String upstreamHost;
  private Host lastHost;

  public Instant start() {
    return start;
  }

  public long startNanos() {
    return startNanos;
  }

  /** Sets one of {@link ResponseFlags}. */
  public void setResponseFlag(int flag) {
    flags |= flag;
  }

  public boolean hasResponseFlag(int flag) {
    return (flags & flag) != 0;
  }

  public int responseFlags() {
    return flags;
  }

  /** Envoy's %RESPONSE_CODE_DETAILS%. */
  public void setDetails(String details) {
    this.details = details;
  }

  public String details() {
    return details;
  }

  public void addBytesReceived(long n) {
    bytesReceived += n;
  }

  public long bytesReceived() {
    return bytesReceived;
  }

  public void setBytesSent(long n) {
    bytesSent = n;
  }

  public void addBytesSent(long n) {
    bytesSent += n;
  }

  public long bytesSent() {
    return bytesSent;
  }

  public void setRequestHeaderBytes(long n) {
    requestHeaderBytes = n;
  }

  public long requestHeaderBytes() {
    return requestHeaderBytes;
  }

  public void setResponseHeaderBytes(long n) {
    responseHeaderBytes = n;
  }

  public long responseHeaderBytes() {
    return responseHeaderBytes;
  }

  /** Milliseconds from sending upstream to its response headers; -1 when none. */
  public void setUpstreamServiceTime(long ms) {
    upstreamServiceTime = ms;
  }

  public long upstreamServiceTime() {
    return upstreamServiceTime;
  }

  /** The attempt's upstream: "ip:port", and its Host when it is one of the cluster's. */
  public void setUpstreamHost(String label, Host host) {
    upstreamHost = label;
    lastHost = host;
  }

  /** %UPSTREAM_HOST%, or null before any attempt. */
  public String upstreamHost() {
    return upstreamHost;
  }

  /** The cluster host of the last attempt, or null. */
  public Host lastHost() {
    return lastHost;
  }
}
