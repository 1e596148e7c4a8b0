package io.shopmesh.mesh.proxy.http.filter;

import static io.shopmesh.mesh.proxy.Shapes.ms;
import static io.shopmesh.mesh.proxy.Shapes.prefix;
import static io.shopmesh.mesh.proxy.Shapes.route;
import static io.shopmesh.mesh.proxy.Shapes.toCluster;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.shopmesh.mesh.proxy.http.Direction;
import io.shopmesh.mesh.proxy.http.FilterHarness;
import io.shopmesh.mesh.proxy.stats.ResponseFlags;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class FaultFilterTest {
  static FilterHarness h;

  static Route faulted(String name, HTTPFault f) {
    return route(name, prefix("/" + name), toCluster("c", 0).build()).toBuilder()
        .putTypedPerFilterConfig("envoy.filters.http.fault", Any.pack(f))
        .build();
  }

  static FractionalPercent pct(int n) {
    return FractionalPercent.newBuilder().setNumerator(n).build();
  }

  @BeforeAll
  static void setUp() throws Exception {
    h =
        new FilterHarness(
            Direction.OUTBOUND,
            List.of(
                faulted(
                    "abort",
                    HTTPFault.newBuilder()
                        .setAbort(
                            FaultAbort.newBuilder().setHttpStatus(418).setPercentage(pct(100)))
                        .build()),
                faulted(
                    "delay",
                    HTTPFault.newBuilder()
                        .setDelay(
                            FaultDelay.newBuilder().setFixedDelay(ms(300)).setPercentage(pct(100)))
                        .build()),
                faulted(
                    "both",
                    HTTPFault.newBuilder()
                        .setDelay(
                            FaultDelay.newBuilder().setFixedDelay(ms(100)).setPercentage(pct(100)))
                        .setAbort(
                            FaultAbort.newBuilder().setHttpStatus(503).setPercentage(pct(100)))
                        .build()),
                faulted(
                    "nopct",
                    HTTPFault.newBuilder()
                        .setAbort(FaultAbort.newBuilder().setHttpStatus(500))
                        .build()),
                faulted(
                    "nopctdelay",
                    HTTPFault.newBuilder()
                        .setDelay(FaultDelay.newBuilder().setFixedDelay(ms(2000)))
                        .build()),
                faulted(
                    "grpc",
                    HTTPFault.newBuilder()
                        .setAbort(FaultAbort.newBuilder().setGrpcStatus(14).setPercentage(pct(100)))
                        .build()),
                route("plain", prefix("/"), toCluster("c", 0).build())),
            ctx -> new FaultFilter(ctx.vertx()));
  }

  @AfterAll
  static void tearDown() {
    h.close();
  }

  @Test
  void abortAnswersWithoutReachingTheRouter() throws Exception {
    int before = h.routed.get();
    HttpResponse<String> r = h.send("GET", "/abort");
    assertThat(r.statusCode()).isEqualTo(418);
    assertThat(r.body()).isEqualTo("fault filter abort");
    assertThat(h.routed.get()).isEqualTo(before);
    assertThat(h.last().info().hasResponseFlag(ResponseFlags.FI)).isTrue();
    assertThat(h.last().info().details()).isEqualTo("fault_filter_abort");
  }

  @Test
  void delayHoldsTheRequestThenContinuesTheChain() throws Exception {
    long t0 = System.nanoTime();
    HttpResponse<String> r = h.send("GET", "/delay");
    assertThat((System.nanoTime() - t0) / 1_000_000).isGreaterThanOrEqualTo(290);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("routed");
    assertThat(h.last().info().hasResponseFlag(ResponseFlags.DI)).isTrue();
  }

  @Test
  void delayThenAbort() throws Exception {
    long t0 = System.nanoTime();
    HttpResponse<String> r = h.send("GET", "/both");
    assertThat((System.nanoTime() - t0) / 1_000_000).isGreaterThanOrEqualTo(90);
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(h.last().info().hasResponseFlag(ResponseFlags.DI)).isTrue();
    assertThat(h.last().info().hasResponseFlag(ResponseFlags.FI)).isTrue();
  }

  @Test
  void faultWithoutPercentageInjectsNothing() throws Exception {
    HttpResponse<String> r = h.send("GET", "/nopct");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(h.last().info().responseFlags()).isZero();
  }

  @Test
  void delayWithoutPercentageDelaysNothing() throws Exception {
    HttpResponse<String> r = h.send("GET", "/nopctdelay");
    assertThat(r.body()).isEqualTo("routed");
    assertThat(h.last().info().hasResponseFlag(ResponseFlags.DI)).isFalse();
    assertThat(h.last().info().responseFlags()).isZero();
  }

  @Test
  void grpcAbortIsATrailersOnlyGrpcStatusWithHttp200() throws Exception {
    int before = h.routed.get();
    HttpResponse<String> r = h.send("POST", "/grpc", "content-type", "application/grpc");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/grpc");
    assertThat(r.headers().firstValue("grpc-status")).hasValue("14");
    assertThat(r.headers().firstValue("grpc-message")).hasValue("fault filter abort");
    assertThat(r.body()).isEmpty();
    assertThat(h.routed.get()).isEqualTo(before);
    assertThat(h.last().info().hasResponseFlag(ResponseFlags.FI)).isTrue();
  }

  @Test
  void grpcAbortOfAPlainHttpRequestIsA200LocalReply() throws Exception {
    int before = h.routed.get();
    HttpResponse<String> r = h.send("GET", "/grpc");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("grpc-status")).isEmpty();
    assertThat(r.body()).isEqualTo("fault filter abort");
    assertThat(h.routed.get()).isEqualTo(before);
  }

  @Test
  void routeWithoutFaultPassesThrough() throws Exception {
    assertThat(h.send("GET", "/other").body()).isEqualTo("routed");
  }
}
