package io.shopmesh.mesh.proxy;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** An upstream on a real socket that answers, fails, stalls, resets or delays on command. */
public final class Stub implements AutoCloseable {
  public enum Mode {
    OK,
    FAIL,
    STALL,
    RESET,
    DELAY,
    RESET_MID_BODY,
    ECHO
  }

  public final String name;
  public volatile Mode mode = Mode.OK;
  public volatile int failStatus = 503;
  public volatile long delayMs;
  public final AtomicInteger count = new AtomicInteger();
  public final List<MultiMap> headers = new CopyOnWriteArrayList<>();
  public final List<String> uris = new CopyOnWriteArrayList<>();
  public final java.util.Set<Integer> clientPorts =
      java.util.concurrent.ConcurrentHashMap.newKeySet();
  public volatile MultiMap responseHeaders = MultiMap.caseInsensitiveMultiMap();
  private final HttpServer server;
  public final String ip;

  public Stub(Vertx vertx, String name) throws Exception {
    this(vertx, name, "127.0.0.1");
  }

  public Stub(Vertx vertx, String name, String ip) throws Exception {
    this.name = name;
    this.ip = ip;
    server = vertx.createHttpServer().requestHandler(this::handle);
    server.listen(0, ip).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  public int port() {
    return server.actualPort();
  }

  public String hostPort() {
    return ip + ":" + port();
  }

  private void handle(HttpServerRequest r) {
    count.incrementAndGet();
    headers.add(MultiMap.caseInsensitiveMultiMap().addAll(r.headers()));
    uris.add(r.uri());
    clientPorts.add(r.remoteAddress().port());
    switch (mode) {
      case OK ->
          r.body()
              .onSuccess(
                  b -> {
                    r.response().headers().addAll(responseHeaders);
                    r.response().end(name);
                  });
      case ECHO ->
          r.body()
              .onSuccess(
                  b -> {
                    r.response().headers().addAll(responseHeaders);
                    r.response().end(Buffer.buffer(Integer.toString(b.length())));
                  });
      case FAIL -> r.response().setStatusCode(failStatus).end(name + " failed");
      case STALL -> {}
      case RESET -> r.connection().close();
      case DELAY -> {}
      case RESET_MID_BODY -> {
        r.response().setChunked(true).write("partial-body-");
        r.response().write(Buffer.buffer(new byte[8192]));
        vertx(r).setTimer(50, t -> r.connection().close());
      }
      default -> r.response().end(name);
    }
    if (mode == Mode.DELAY) {
      vertx(r).setTimer(Math.max(1, delayMs), t -> r.response().end(name));
    }
  }

  private static Vertx vertx(HttpServerRequest r) {
    return io.vertx.core.Vertx.currentContext().owner();
  }

  public int lastAttemptCount() {
    MultiMap h = headers.get(headers.size() - 1);
    return Integer.parseInt(h.get("x-envoy-attempt-count"));
  }

  @Override
  public void close() {
    server.close();
  }
}
