package io.shopmesh.mesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Without iptables there is no original destination to read: the inbound port falls back to the
 * pod's single app port, or the listener's own port. (The REDIRECT path itself runs in the docker
 * compose e2e suite, where istio-init's rules exist.)
 */
class OriginalDstTest {

  Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  private int serveAndAsk(List<Integer> podPorts) throws Exception {
    int[] seen = {-1};
    HttpServer s =
        vertx
            .createHttpServer()
            .requestHandler(
                r -> {
                  seen[0] = OriginalDst.inboundPort(r, podPorts, r.localAddress().port());
                  r.response().end("ok");
                });
    s.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    HttpResponse<String> resp =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.actualPort() + "/"))
                    .timeout(Duration.ofSeconds(5))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(resp.body()).isEqualTo("ok");
    return seen[0] == s.actualPort() ? 0 : seen[0];
  }

  @Test
  void notRedirectedFallsBackToTheSingleAppPort() throws Exception {
    assertThat(serveAndAsk(List.of(8080))).isEqualTo(8080);
  }

  @Test
  void notRedirectedWithSeveralPortsKeepsTheListenerPort() throws Exception {
    assertThat(serveAndAsk(List.of(8080, 9090))).isZero();
  }

  @Test
  void jnaIsThere() {
    assertThat(OriginalDst.available()).isTrue();
  }
}
