package io.shopmesh.mesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.istiod.DirectoryConfigSource;
import io.shopmesh.mesh.istiod.Istiod;
import io.shopmesh.mesh.testing.Manifests;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Proxies driven over ADS by the real istiod, with a config change while traffic flows. */
class IstiodIntegrationTest {
  @TempDir Path dir;
  Harness h = new Harness();
  Istiod istiod;

  @AfterEach
  void tearDown() throws Exception {
    h.close();
    if (istiod != null) {
      istiod.close();
    }
  }

  static String vs(int v1, int v2) {
    return Manifests.productVirtualService(v1, v2);
  }

  Proxy sidecar(
      String pod, String workload, Map<String, String> labels, int port, int peerInboundPort)
      throws Exception {
    ProxyOptions o = Harness.sidecarOptions(pod, workload, "127.0.0.1", labels);
    // all pods share 127.0.0.1 here, so a peer's inbound listener is on an ephemeral port
    o.peerInboundPort = peerInboundPort;
    o.ports.clear();
    o.ports.add(port);
    o.portNames.put(port, "http"); // the Service's targetPort names it
    o.istiod = "127.0.0.1:" + istiod.xdsPort();
    Proxy p = new Proxy(o);
    p.start(true);
    return p;
  }

  static void await(java.util.function.BooleanSupplier c, String what) throws InterruptedException {
    for (int i = 0; i < 200; i++) {
      if (c.getAsBoolean()) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("timed out waiting for " + what);
  }

  @Test
  void proxiesFollowIstiod() throws Exception {
    Stub app = h.stub("product-v1");
    // The app port is ephemeral: the Service maps 8080 to the pod port named http (POD_PORTS).
    Files.writeString(
        dir.resolve("product-service.yaml"),
        """
        apiVersion: v1
        kind: Service
        metadata:
          name: product-service
        spec:
          ports:
          - port: 8080
            name: http
            targetPort: http
          selector:
            app: product-service
        ---
        """
            + Manifests.productDestinationRule());
    Files.writeString(dir.resolve("product-vs.yaml"), vs(80, 20));
    istiod = new Istiod(new DirectoryConfigSource(dir)).start("127.0.0.1", 0, 0);

    Proxy product =
        sidecar(
            "product-service-v1-7c9d8-x2k4p",
            "product-service-v1",
            Map.of("app", "product-service", "version", "v1"),
            app.port(),
            15006);
    Proxy frontend =
        sidecar(
            "frontend-6b7f9-qq1w2",
            "frontend",
            Map.of("app", "frontend"),
            80,
            product.port("inbound"));
    try {
      await(() -> product.isReady() && frontend.isReady(), "readiness");
      HttpClient c = Harness.viaProxy(frontend);
      // 80/20 with no v2 pod: v1 answers, v2 has no healthy upstream.
      int ok = 0;
      int uh = 0;
      HttpResponse<String> first = Harness.get(c, "http://product-service:8080/api/products");
      assertThat(first.statusCode() + " " + first.body())
          .as(
              () ->
                  frontend.state().endpoints().toString()
                      + "\nDIAG "
                      + new io.shopmesh.mesh.config.ConfigLoader()
                          .load(java.util.List.of(dir))
                          .diagnostics()
                      + "\nPRODUCT "
                      + product.state().clusters().keySet()
                      + product.state().listeners().keySet()
                      + " inbound "
                      + product.port("inbound")
                      + " app "
                      + app.port())
          .isIn("200 product-v1", "503 no healthy upstream");
      for (int i = 0; i < 200; i++) {
        HttpResponse<String> r = Harness.get(c, "http://product-service:8080/api/products");
        if (r.statusCode() == 200 && r.body().equals("product-v1")) {
          ok++;
        } else if (r.statusCode() == 503 && r.body().equals("no healthy upstream")) {
          uh++;
        }
      }
      assertThat(ok + uh).isEqualTo(200);
      assertThat(ok).isBetween(130, 190);
      assertThat(app.headers.get(0).get("x-envoy-attempt-count")).isEqualTo("1");

      // kubectl apply of a new split: the proxy picks it up over ADS (RDS push, ACKed).
      Files.writeString(dir.resolve("product-vs.yaml"), vs(100, 0));
      await(
          () -> {
            try {
              for (int i = 0; i < 20; i++) {
                if (Harness.get(c, "http://product-service:8080/x").statusCode() != 200) {
                  return false;
                }
              }
              return true;
            } catch (Exception e) {
              return false;
            }
          },
          "the 100/0 split");
      String syncz =
          Harness.get(Harness.direct(), "http://127.0.0.1:" + istiod.httpPort() + "/debug/syncz")
              .body();
      assertThat(syncz)
          .contains("frontend-6b7f9-qq1w2")
          .doesNotContain("STALE")
          .doesNotContain("NOT SENT");
      String dump =
          Harness.get(
                  Harness.direct(), "http://127.0.0.1:" + frontend.port("admin") + "/config_dump")
              .body();
      assertThat(dump).contains("outbound|8080|v1|product-service.default.svc.cluster.local");
      assertThat(Harness.metricsContaining(product, "reporter=\"destination\""))
          .contains("reporter=\"destination\",source_workload=\"frontend\"");
    } finally {
      product.close();
      frontend.close();
    }
  }
}
