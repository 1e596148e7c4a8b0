package io.shopmesh.bench;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerOptions;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The fast upstream when nginx is not installed: a Vert.x server answering every request with a
 * small fixed body, on one event loop. {@code Upstream IP:PORT [IP:PORT...]}.
 */
public final class Upstream {

  static final String BODY = "hello from upstream\n";

  private Upstream() {}

  public static void main(String[] args) throws Exception {
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
    Buffer body = Buffer.buffer(BODY);
    CountDownLatch up = new CountDownLatch(args.length);
    for (String a : args) {
      int colon = a.lastIndexOf(':');
      vertx
          .createHttpServer(
              new HttpServerOptions()
                  .setHost(a.substring(0, colon))
                  .setPort(Integer.parseInt(a.substring(colon + 1)))
                  .setTcpNoDelay(true))
          .requestHandler(req -> req.response().putHeader("content-type", "text/plain").end(body))
          .listen()
          .onSuccess(s -> up.countDown())
          .onFailure(
              e -> {
                System.err.println("cannot listen on " + a + ": " + e);
                System.exit(1);
              });
    }
    if (!up.await(30, TimeUnit.SECONDS)) {
      System.exit(1);
    }
    System.out.println("upstream ready");
    new CountDownLatch(1).await();
  }
}
