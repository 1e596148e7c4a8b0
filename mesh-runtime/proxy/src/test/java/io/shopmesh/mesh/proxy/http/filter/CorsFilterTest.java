package io.shopmesh.mesh.proxy.http.filter;

import static io.shopmesh.mesh.proxy.Shapes.prefix;
import static io.shopmesh.mesh.proxy.Shapes.route;
import static io.shopmesh.mesh.proxy.Shapes.toCluster;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.shopmesh.mesh.proxy.http.Direction;
import io.shopmesh.mesh.proxy.http.FilterHarness;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CorsFilterTest {
  static final String ORIGIN = "https://shop.example.com";
  static FilterHarness h;

  @BeforeAll
  static void setUp() throws Exception {
    CorsPolicy cors =
        CorsPolicy.newBuilder()
            .addAllowOriginStringMatch(StringMatcher.newBuilder().setExact(ORIGIN))
            .setAllowMethods("GET,POST")
            .setMaxAge("600")
            .build();
    h =
        new FilterHarness(
            Direction.GATEWAY,
            List.of(
                route("cors", prefix("/cors"), toCluster("c", 0).build()).toBuilder()
                    .putTypedPerFilterConfig("envoy.filters.http.cors", Any.pack(cors))
                    .build(),
                route("plain", prefix("/"), toCluster("c", 0).build())),
            ctx -> new CorsFilter());
  }

  @AfterAll
  static void tearDown() {
    h.close();
  }

  @Test
  void allowedPreflightIsAnsweredByTheFilter() throws Exception {
    int before = h.routed.get();
    HttpResponse<String> r =
        h.send("OPTIONS", "/cors", "Origin", ORIGIN, "Access-Control-Request-Method", "POST");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("access-control-allow-origin")).hasValue(ORIGIN);
    assertThat(r.headers().firstValue("access-control-allow-methods")).hasValue("GET,POST");
    assertThat(h.routed.get()).isEqualTo(before);
    assertThat(h.last().info().details()).isEqualTo("cors_response");
  }

  @Test
  void simpleRequestGetsAllowOriginOnTheResponse() throws Exception {
    HttpResponse<String> r = h.send("GET", "/cors", "Origin", ORIGIN);
    assertThat(r.body()).isEqualTo("routed");
    assertThat(r.headers().firstValue("access-control-allow-origin")).hasValue(ORIGIN);
  }

  @Test
  void otherOriginsAndRoutesGetNoCorsHeaders() throws Exception {
    HttpResponse<String> r =
        h.send(
            "OPTIONS",
            "/cors",
            "Origin",
            "https://evil.example",
            "Access-Control-Request-Method",
            "POST");
    assertThat(r.body()).isEqualTo("routed");
    assertThat(r.headers().firstValue("access-control-allow-origin")).isEmpty();
    assertThat(
            h.send("GET", "/plain", "Origin", ORIGIN)
                .headers()
                .firstValue("access-control-allow-origin"))
        .isEmpty();
  }
}
