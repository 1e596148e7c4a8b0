package io.shopmesh.mesh.proxy;

import static io.shopmesh.mesh.proxy.Shapes.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.shopmesh.mesh.wire.IstioMetadata;
import io.shopmesh.mesh.wire.SourceMetadata;
import io.shopmesh.mesh.wire.Wellknown;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Decision records through a real sidecar fed xDS: what {@code /debug/requests} says about each
 * kind of decision (match misses, the route taken and its source, the weighted pick, retries,
 * timeouts, faults, mirrors, no route).
 */
class DecisionRecordsTest {
  static final String HOST = "product-service" + SUFFIX;
  static final String V1 = outbound(8080, "v1", HOST);
  static final String V2 = outbound(8080, "v2", HOST);
  static final String CONFIG = IstioMetadata.configPath("virtual-service", "default", "product-vs");

  Harness h;
  Proxy proxy;
  Stub v1;
  Stub v2;
  HttpClient client;
  final HttpClient direct = Harness.direct();

  @BeforeEach
  void setUp() throws Exception {
    h = new Harness();
    v1 = h.stub("v1");
    v2 = h.stub("v2");
    proxy =
        h.start(
            Harness.sidecarOptions(
                "frontend-5d4f-abcde", "frontend", "127.0.0.1", Map.of("app", "frontend")));
    client = Harness.viaProxy(proxy);
    Route premium =
        Route.newBuilder()
            .setName("premium")
            .setMatch(
                RouteMatch.newBuilder()
                    .setPrefix("/")
                    .addHeaders(
                        HeaderMatcher.newBuilder()
                            .setName("user-type")
                            .setStringMatch(StringMatcher.newBuilder().setExact("premium"))))
            .setRoute(toCluster(V2, 0))
            .setMetadata(source(0, 0, "manifests/product-vs.yaml:12"))
            .build();
    Route fault =
        Route.newBuilder()
            .setName("fault")
            .setMatch(RouteMatch.newBuilder().setPrefix("/fault"))
            .setRoute(toCluster(V1, 0))
            .putTypedPerFilterConfig(
                Wellknown.FAULT,
                Any.pack(
                    HTTPFault.newBuilder()
                        .setDelay(
                            FaultDelay.newBuilder()
                                .setFixedDelay(ms(10))
                                .setPercentage(FractionalPercent.newBuilder().setNumerator(0)))
                        .setAbort(
                            FaultAbort.newBuilder()
                                .setHttpStatus(418)
                                .setPercentage(FractionalPercent.newBuilder().setNumerator(100)))
                        .build()))
            .build();
    Route mirror =
        route(
            "mirror",
            prefix("/mirror"),
            toCluster(V1, 0)
                .addRequestMirrorPolicies(
                    RouteAction.RequestMirrorPolicy.newBuilder()
                        .setCluster(V2)
                        .setRuntimeFraction(
                            RuntimeFractionalPercent.newBuilder()
                                .setDefaultValue(FractionalPercent.newBuilder().setNumerator(100))))
                .build());
    Route retried =
        route(
            "retried",
            prefix("/retried"),
            toCluster(V1, 0).setRetryPolicy(retry(1, 0, "5xx")).build());
    Route slow = route("slow", prefix("/slow"), toCluster(V1, 300).build());
    Route split =
        route("split", prefix("/products"), weighted(0, V1, 80, V2, 20).build()).toBuilder()
            .setMetadata(source(1, 0, "manifests/product-vs.yaml:20"))
            .build();
    RouteConfiguration rc =
        routeConfig(
            "8080",
            serviceVhost("product-service", 8080, premium, fault, mirror, retried, slow, split));
    proxy.apply(
        List.of(edsCluster(V1, HOST, "product-service"), edsCluster(V2, HOST, "product-service")),
        List.of(cla(V1, false, null, v1.hostPort()), cla(V2, false, null, v2.hostPort())),
        List.of(),
        List.of(rc));
  }

  @AfterEach
  void tearDown() {
    h.close();
  }

  static Metadata source(int rule, int match, String fileLine) {
    return Metadata.newBuilder()
        .putFilterMetadata(
            IstioMetadata.ISTIO,
            Struct.newBuilder()
                .putFields(IstioMetadata.CONFIG, Value.newBuilder().setStringValue(CONFIG).build())
                .build())
        .putFilterMetadata(
            SourceMetadata.NAMESPACE,
            Struct.newBuilder()
                .putFields(
                    SourceMetadata.SOURCE, Value.newBuilder().setStringValue(fileLine).build())
                .putFields(
                    SourceMetadata.RULE_KIND, Value.newBuilder().setStringValue("http").build())
                .putFields(SourceMetadata.RULE, Value.newBuilder().setNumberValue(rule).build())
                .putFields(SourceMetadata.MATCH, Value.newBuilder().setNumberValue(match).build())
                .build())
        .build();
  }

  /** Sends a request with a known x-request-id and returns its record. */
  JsonObject send(String path, String id, int status, String... headers) throws Exception {
    String[] all = new String[headers.length + 2];
    all[0] = "x-request-id";
    all[1] = id;
    System.arraycopy(headers, 0, all, 2, headers.length);
    HttpResponse<String> r = Harness.get(client, "http://product-service:8080" + path, all);
    assertThat(r.statusCode()).isEqualTo(status);
    JsonArray records = admin("/debug/requests?id=" + id).getJsonArray("requests");
    assertThat(records).hasSize(1);
    return records.getJsonObject(0);
  }

  JsonObject admin(String path) throws Exception {
    return new JsonObject(
        Harness.get(direct, "http://127.0.0.1:" + proxy.port("admin") + path).body());
  }

  @Test
  void missReasonsThenTheRouteTakenWithItsSourceAndTheWeightedPick() throws Exception {
    JsonObject rec = send("/products?x=1", "rec-split", 200);
    assertThat(rec.getString("role")).isEqualTo("sidecar");
    assertThat(rec.getString("direction")).isEqualTo("outbound");
    assertThat(rec.getString("route_config")).isEqualTo("8080");
    assertThat(rec.getString("virtual_host")).isEqualTo(HOST + ":8080");
    assertThat(rec.getString("path")).isEqualTo("/products");
    JsonArray considered = rec.getJsonArray("routes_considered");
    assertThat(considered.getJsonObject(0).getString("reason"))
        .isEqualTo("header user-type: absent (wants string_match { exact: \"premium\" })");
    assertThat(considered.getJsonObject(1).getString("reason"))
        .isEqualTo("path /products does not start with /fault");
    assertThat(considered).hasSize(6);
    JsonObject taken = rec.getJsonObject("route");
    assertThat(taken.getString("name")).isEqualTo("split");
    JsonObject src = taken.getJsonObject("source");
    assertThat(src.getString("config")).isEqualTo(CONFIG);
    assertThat(src.getString("source")).isEqualTo("manifests/product-vs.yaml:20");
    assertThat(src.getLong("rule")).isEqualTo(1L);
    JsonObject pick = rec.getJsonObject("weighted_clusters");
    assertThat(pick.getJsonArray("weights").getJsonObject(0).getInteger("weight")).isEqualTo(80);
    assertThat(pick.getString("picked")).isIn(V1, V2);
    assertThat(rec.getString("cluster")).isEqualTo(pick.getString("picked"));
    JsonObject attempt = rec.getJsonArray("attempts").getJsonObject(0);
    String answered = pick.getString("picked").equals(V1) ? v1.hostPort() : v2.hostPort();
    assertThat(attempt.getString("endpoint")).isEqualTo(answered);
    assertThat(attempt.getString("lb_policy")).isEqualTo("LEAST_REQUEST");
    assertThat(attempt.getInteger("status")).isEqualTo(200);
    assertThat(rec.getInteger("status")).isEqualTo(200);
    assertThat(rec.getString("flags")).isEqualTo("-");
  }

  @Test
  void aHeaderThatMatchesTakesTheFirstRoute() throws Exception {
    JsonObject rec = send("/products", "rec-premium", 200, "user-type", "premium");
    assertThat(rec.getJsonArray("routes_considered")).hasSize(1);
    assertThat(rec.getJsonObject("route").getJsonObject("source").getString("source"))
        .isEqualTo("manifests/product-vs.yaml:12");
    assertThat(rec.containsKey("weighted_clusters")).isFalse();
    assertThat(rec.getString("cluster")).isEqualTo(V2);
  }

  @Test
  void aFailedAttemptIsRetriedWithItsReasonThenTheBudgetEnds() throws Exception {
    v1.mode = Stub.Mode.FAIL;
    JsonObject rec = send("/retried", "rec-retry", 503);
    JsonArray attempts = rec.getJsonArray("attempts");
    assertThat(attempts).hasSize(2);
    assertThat(attempts.getJsonObject(0).getInteger("status")).isEqualTo(503);
    assertThat(attempts.getJsonObject(0).getString("retry")).isEqualTo("retry: status 503");
    assertThat(attempts.getJsonObject(1).getString("retry"))
        .isEqualTo("none: retries exhausted (1 used)");
    assertThat(rec.getString("flags")).isEqualTo("URX");
  }

  @Test
  void theRouteTimeoutEndsTheAttemptWith504UT() throws Exception {
    v1.mode = Stub.Mode.STALL;
    JsonObject rec = send("/slow", "rec-timeout", 504);
    assertThat(rec.getJsonObject("timeouts").getLong("route_ms")).isEqualTo(300L);
    JsonObject attempt = rec.getJsonArray("attempts").getJsonObject(0);
    assertThat(attempt.getString("flags")).isEqualTo("UT");
    assertThat(attempt.getString("retry")).isEqualTo("none: route timeout 300ms");
    assertThat(attempt.getLong("duration_ms")).isBetween(250L, 2000L);
    assertThat(rec.getString("flags")).isEqualTo("UT");
    assertThat(rec.getString("details")).isEqualTo("response_timeout");
  }

  @Test
  void faultsSayWhetherTheyWereDrawn() throws Exception {
    JsonObject rec = send("/fault", "rec-fault", 418);
    JsonArray faults = rec.getJsonArray("faults");
    assertThat(faults.getJsonObject(0).getString("kind")).isEqualTo("delay");
    assertThat(faults.getJsonObject(0).getBoolean("applied")).isFalse();
    assertThat(faults.getJsonObject(1).getString("kind")).isEqualTo("abort");
    assertThat(faults.getJsonObject(1).getBoolean("applied")).isTrue();
    assertThat(faults.getJsonObject(1).getString("detail")).isEqualTo("status 418 at 100.0%");
    assertThat(rec.getString("flags")).isEqualTo("FI");
    assertThat(rec.containsKey("attempts")).isFalse();
  }

  @Test
  void mirrorsAreNamedWithTheirSampling() throws Exception {
    JsonObject rec = send("/mirror", "rec-mirror", 200);
    JsonObject m = rec.getJsonArray("mirrors").getJsonObject(0);
    assertThat(m.getString("cluster")).isEqualTo(V2);
    assertThat(m.getBoolean("sampled")).isTrue();
  }

  @Test
  void noRouteIsNrWithTheVirtualHostMissing() throws Exception {
    HttpResponse<String> r =
        Harness.get(client, "http://unknown-service:8080/x", "x-request-id", "rec-nr");
    assertThat(r.statusCode()).isEqualTo(404);
    JsonObject rec = admin("/debug/requests?id=rec-nr").getJsonArray("requests").getJsonObject(0);
    assertThat(rec.getValue("virtual_host")).isNull();
    assertThat(rec.getString("flags")).isEqualTo("NR");
    assertThat(rec.getString("details")).isEqualTo("route_not_found");
  }

  @Test
  void newestFirstWithALimit() throws Exception {
    send("/products", "rec-a", 200, "user-type", "premium");
    send("/products", "rec-b", 200, "user-type", "premium");
    JsonArray all = admin("/debug/requests?limit=1").getJsonArray("requests");
    assertThat(all).hasSize(1);
    assertThat(all.getJsonObject(0).getString("request_id")).isEqualTo("rec-b");
  }

  @Test
  void zeroRecordsNothing() throws Exception {
    ProxyOptions o = Harness.sidecarOptions("off-1-2", "off", "127.0.0.1", Map.of("app", "off"));
    o.decisionRecords = 0;
    Proxy off = h.start(o);
    off.apply(List.of(), List.of(), List.of(), List.of());
    Harness.get(Harness.viaProxy(off), "http://product-service:8080/x", "x-request-id", "r0");
    String body =
        Harness.get(direct, "http://127.0.0.1:" + off.port("admin") + "/debug/requests").body();
    assertThat(new JsonObject(body).getJsonArray("requests")).isEmpty();
    assertThat(new JsonObject(body).getInteger("capacity")).isZero();
  }
}
