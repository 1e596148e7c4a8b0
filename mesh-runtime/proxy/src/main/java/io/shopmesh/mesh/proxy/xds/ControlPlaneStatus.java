package io.shopmesh.mesh.proxy.xds;

import java.time.Instant;
import java.util.Map;

/**
 * What the proxy knows about its xDS stream to istiod, published as one immutable value so that the
 * admin port reads it without waiting for the xDS thread.
 *
 * @param address the istiod address dialled
 * @param state CONNECTED (istiod answered on the current stream), CONNECTING (stream opened, no
 *     answer yet) or DISCONNECTED (waiting to retry)
 * @param since when {@code state} was entered
 * @param streamStarted when the current (or last) stream was opened
 * @param lastAck when the last ACK was sent (any type)
 * @param reconnectAttempts streams opened since the last one istiod answered on
 * @param reconnects streams opened after the first one, in the process lifetime
 * @param lastError why the last stream ended (null if none ended yet)
 * @param lastErrorTime when it ended
 * @param versions accepted version_info per type (CDS, EDS, LDS, RDS)
 * @param nacks the last NACK's reason per type, for types whose last update was rejected
 */
public record ControlPlaneStatus(
    String address,
    String state,
    Instant since,
    Instant streamStarted,
    Instant lastAck,
    int reconnectAttempts,
    long reconnects,
    String lastError,
    Instant lastErrorTime,
    Map<String, String> versions,
    Map<String, String> nacks) {
  public static final String CONNECTED = "CONNECTED";
  public static final String CONNECTING = "CONNECTING";
  public static final String DISCONNECTED = "DISCONNECTED";

  public boolean connected() {
    return CONNECTED.equals(state);
  }
}
