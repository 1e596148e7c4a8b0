package io.shopmesh.mesh.proxy.http.filter;

import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.shopmesh.mesh.proxy.http.HttpFilter;
import io.shopmesh.mesh.proxy.http.HttpStream;
import io.shopmesh.mesh.proxy.router.RouteTable;
import io.shopmesh.mesh.proxy.stats.ResponseFlags;
import io.shopmesh.mesh.wire.Wellknown;
import io.vertx.core.Vertx;

/**
 * envoy.filters.http.fault with the route's typed_per_filter_config: a fixed delay (DI), then an
 * abort (FI, an HTTP status or a gRPC status) for the configured fraction of requests. An unset
 * percentage is 0%, as Envoy reads it: nothing is injected.
 */
public final class FaultFilter implements HttpFilter {
  private final Vertx vertx;
  private long delayTimer = -1;

  public FaultFilter(Vertx vertx) {
    this.vertx = vertx;
  }

  @Override
  public String name() {
    return Wellknown.FAULT;
  }

  @Override
  public Status decodeHeaders(HttpStream s) {
    HTTPFault f = s.route() == null ? null : s.route().fault();
    if (f == null) {
      return Status.CONTINUE;
    }
    boolean delayed =
        f.hasDelay()
            && f.getDelay().hasFixedDelay()
            && RouteTable.sample(f.getDelay().getPercentage());
    if (f.hasDelay() && s.decision() != null) {
      s.decision()
          .fault(
              "delay",
              delayed,
              RouteTable.millis(f.getDelay().getFixedDelay())
                  + "ms at "
                  + percent(f.getDelay().getPercentage()));
    }
    if (delayed) {
      s.info().setResponseFlag(ResponseFlags.DI);
      long ms = RouteTable.millis(f.getDelay().getFixedDelay());
      delayTimer =
          vertx.setTimer(
              Math.max(1, ms),
              t -> {
                delayTimer = -1;
                if (!s.isDone() && !abort(s, f)) {
                  s.continueDecoding();
                }
              });
      return Status.STOP;
    }
    return abort(s, f) ? Status.STOP : Status.CONTINUE;
  }

  /** Aborts the request when the abort fault samples it; true when it did. */
  private static boolean abort(HttpStream s, HTTPFault f) {
    if (!f.hasAbort()) {
      return false;
    }
    FaultAbort a = f.getAbort();
    boolean drawn = RouteTable.sample(a.getPercentage());
    if (s.decision() != null) {
      s.decision()
          .fault(
              "abort",
              drawn,
              (a.getErrorTypeCase() == FaultAbort.ErrorTypeCase.GRPC_STATUS
                      ? "grpc-status " + a.getGrpcStatus()
                      : "status " + a.getHttpStatus())
                  + " at "
                  + percent(a.getPercentage()));
    }
    if (!drawn) {
      return false;
    }
    if (a.getErrorTypeCase() == FaultAbort.ErrorTypeCase.HTTP_STATUS && a.getHttpStatus() > 0) {
      s.info().setResponseFlag(ResponseFlags.FI);
      s.sendLocalReply(a.getHttpStatus(), "fault filter abort", "fault_filter_abort");
      return true;
    }
    if (a.getErrorTypeCase() == FaultAbort.ErrorTypeCase.GRPC_STATUS) {
      // Envoy's fault filter: HTTP 200 with the gRPC status (a gRPC request gets it as
      // grpc-status; any other request a plain 200 local reply).
      s.info().setResponseFlag(ResponseFlags.FI);
      s.sendLocalReply(200, "fault filter abort", "fault_filter_abort", a.getGrpcStatus());
      return true;
    }
    return false;
  }

  /** A fractional percent as "N%" for decision records. */
  private static String percent(FractionalPercent p) {
    double denom =
        switch (p.getDenominator()) {
          case TEN_THOUSAND -> 100.0;
          case MILLION -> 10_000.0;
          default -> 1.0;
        };
    return (p.getNumerator() / denom) + "%";
  }

  @Override
  public void onDestroy(HttpStream s) {
    if (delayTimer >= 0) {
      vertx.cancelTimer(delayTimer);
      delayTimer = -1;
    }
  }
}
