package io.shopmesh.mesh.meshctl.trace;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The tree of one request's records as /debug/requests serves them, in causal order. */
class TraceTreeTest {
  static final String VS = "/apis/networking.istio.io/v1alpha3/namespaces/default/virtual-service/";

  static JsonObject record(String dir, String role, String start, String method, int status) {
    return new JsonObject()
        .put("direction", dir)
        .put("role", role)
        .put("start", start)
        .put("method", method)
        .put("authority", "shop.example.com")
        .put("path", "/products")
        .put("status", status)
        .put("flags", "-")
        .put("duration_ms", 12);
  }

  static JsonObject route(String vs, int rule, String file) {
    return new JsonObject()
        .put("name", vs)
        .put("matched", true)
        .put(
            "source",
            new JsonObject()
                .put("config", VS + vs)
                .put("kind", "http")
                .put("rule", rule)
                .put("match", 0)
                .put("source", file));
  }

  static JsonObject attempt(int n, String endpoint, String start, int status, String retry) {
    return new JsonObject()
        .put("attempt", n)
        .put("start", start)
        .put("lb_policy", "LEAST_REQUEST")
        .put("candidates", 2)
        .put("endpoint", endpoint)
        .put("status", status)
        .put("flags", status == 0 ? "UF" : "-")
        .put("duration_ms", 3)
        .put("retry", retry);
  }

  @Test
  void gatewayThenFrontendThenTheProductPodThatAnsweredAfterARetry() {
    Map<String, JsonArray> byPod = new LinkedHashMap<>();
    Map<String, String> ips = new LinkedHashMap<>();
    ips.put("istio-ingressgateway-0", "127.0.0.10");
    ips.put("frontend-0", "127.0.0.11");
    ips.put("product-v1-0", "127.0.0.12");
    ips.put("product-v2-0", "127.0.0.13");
    // listed out of order on purpose: the tree follows causality, not the order of pods
    byPod.put(
        "product-v2-0",
        new JsonArray()
            .add(
                record("inbound", "sidecar", "2026-12-01T08:00:00.040Z", "GET", 200)
                    .put("cluster", "inbound|8080||")
                    .put(
                        "attempts",
                        new JsonArray()
                            .add(
                                attempt(
                                    1,
                                    "127.0.0.13:8080",
                                    "2026-12-01T08:00:00.041Z",
                                    200,
                                    "none: 200 not retriable")))));
    byPod.put(
        "frontend-0",
        new JsonArray()
            .add(
                record("outbound", "sidecar", "2026-12-01T08:00:00.030Z", "GET", 200)
                    .put(
                        "route", route("product-vs", 1, "manifests/product-virtualservice.yaml:21"))
                    .put(
                        "routes_considered",
                        new JsonArray()
                            .add(
                                new JsonObject()
                                    .put("name", "premium")
                                    .put("matched", false)
                                    .put("reason", "header user-type: absent"))
                            .add(new JsonObject().put("name", "split").put("matched", true)))
                    .put(
                        "weighted_clusters",
                        new JsonObject()
                            .put(
                                "weights",
                                new JsonArray()
                                    .add(
                                        new JsonObject()
                                            .put("cluster", "outbound|8080|v1|product")
                                            .put("weight", 80))
                                    .add(
                                        new JsonObject()
                                            .put("cluster", "outbound|8080|v2|product")
                                            .put("weight", 20)))
                            .put("picked", "outbound|8080|v2|product"))
                    .put(
                        "attempts",
                        new JsonArray()
                            .add(
                                attempt(
                                    1,
                                    "127.0.0.99:8080",
                                    "2026-12-01T08:00:00.031Z",
                                    0,
                                    "retry: connect-failure"))
                            .add(
                                attempt(
                                    2,
                                    "127.0.0.13:8080",
                                    "2026-12-01T08:00:00.039Z",
                                    200,
                                    "none: 200 not retriable"))))
            .add(
                record("inbound", "sidecar", "2026-12-01T08:00:00.020Z", "GET", 200)
                    .put("cluster", "inbound|8080||")
                    .put(
                        "attempts",
                        new JsonArray()
                            .add(
                                attempt(
                                    1,
                                    "127.0.0.11:8080",
                                    "2026-12-01T08:00:00.021Z",
                                    200,
                                    "none: 200 not retriable")))));
    byPod.put(
        "istio-ingressgateway-0",
        new JsonArray()
            .add(
                record("gateway", "gateway", "2026-12-01T08:00:00.010Z", "GET", 200)
                    .put(
                        "route",
                        route("frontend-vs", 0, "manifests/frontend-virtualservice.yaml:13"))
                    .put("cluster", "outbound|8080||frontend")
                    .put(
                        "attempts",
                        new JsonArray()
                            .add(
                                attempt(
                                    1,
                                    "127.0.0.11:8080",
                                    "2026-12-01T08:00:00.011Z",
                                    200,
                                    "none: 200 not retriable")))));

    String out = new TraceTree(TraceTree.hops(byPod, ips)).render();

    assertThat(out)
        .isEqualTo(
            """
            istio-ingressgateway-0 [gateway] GET shop.example.com/products -> 200 12ms
               route VirtualService default/frontend-vs http[0] match[0] at manifests/frontend-virtualservice.yaml:13
               cluster outbound|8080||frontend
               attempt 1: LEAST_REQUEST of 2 -> 127.0.0.11:8080 (frontend-0) 200 3ms, none: 200 not retriable
                  frontend-0 [sidecar inbound] GET shop.example.com/products -> 200 12ms
                     cluster inbound|8080||
                     attempt 1: LEAST_REQUEST of 2 -> 127.0.0.11:8080 200 3ms, none: 200 not retriable
                  frontend-0 [sidecar outbound] GET shop.example.com/products -> 200 12ms
                     route VirtualService default/product-vs http[1] match[0] at manifests/product-virtualservice.yaml:21 (after 1 not matching)
                     weighted: outbound|8080|v1|product 80, outbound|8080|v2|product 20 -> picked outbound|8080|v2|product
                     attempt 1: LEAST_REQUEST of 2 -> 127.0.0.99:8080 0 UF 3ms, retry: connect-failure
                     attempt 2: LEAST_REQUEST of 2 -> 127.0.0.13:8080 (product-v2-0) 200 3ms, none: 200 not retriable
                        product-v2-0 [sidecar inbound] GET shop.example.com/products -> 200 12ms
                           cluster inbound|8080||
                           attempt 1: LEAST_REQUEST of 2 -> 127.0.0.13:8080 200 3ms, none: 200 not retriable
            """);
  }

  @Test
  void noRouteListsTheMissReasons() {
    JsonObject r =
        record("gateway", "gateway", "2026-12-01T08:00:00.010Z", "GET", 404)
            .put("flags", "NR")
            .put("route_config", "http.8080")
            .put("virtual_host", "shop.example.com:8080")
            .put(
                "routes_considered",
                new JsonArray()
                    .add(
                        new JsonObject()
                            .put("name", "shop")
                            .put("matched", false)
                            .put("reason", "path /x does not start with /products")));
    String out =
        new TraceTree(
                TraceTree.hops(
                    Map.of("gw-0", new JsonArray().add(r)), Map.of("gw-0", "127.0.0.10")))
            .render();
    assertThat(out)
        .contains("-> 404 NR")
        .contains("no route\n")
        .contains("shop: path /x does not start with /products");
  }
}
