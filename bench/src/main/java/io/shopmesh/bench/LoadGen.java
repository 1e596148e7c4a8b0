package io.shopmesh.bench;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * HTTP/1.1 load on keep-alive connections from one event loop.
 *
 * <p>{@link #openLoop}: requests are due at a fixed rate whatever the responses do (wrk2's model).
 * Each latency is measured from the time the request was due, not from when it was sent, so a stall
 * of the system under test is charged to every request that should have gone out during it (no
 * coordinated omission). {@link #closedLoop}: each connection sends its next request when the
 * previous answer is in (wrk's model), used for maximum throughput when wrk is not installed.
 */
final class LoadGen implements AutoCloseable {

  /** Where requests go: the address dialled and the Host header sent. */
  record Target(String ip, int port, String hostHeader, String path) {
    String url() {
      return "http://" + ip + ":" + port + path;
    }
  }

  /** Latencies in microseconds, counts, and the rate achieved. */
  record Result(long sent, long ok, long errors, long timeouts, Histogram micros, double seconds) {
    double rps() {
      return ok / seconds;
    }

    double ms(double percentile) {
      return micros.getValueAtPercentile(percentile) / 1000.0;
    }
  }

  private final Vertx vertx;
  private final Context ctx;
  private final HttpClient client;
  private final Target target;
  private final RequestOptions request;

  // touched only on the event loop
  private Histogram histogram;
  private long ok;
  private long errors;

  LoadGen(Target target, int connections) {
    this.target = target;
    this.vertx =
        Vertx.vertx(
            new VertxOptions()
                .setEventLoopPoolSize(1)
                .setWorkerPoolSize(1)
                .setBlockedThreadCheckInterval(60_000));
    this.ctx = vertx.getOrCreateContext();
    this.client =
        vertx.createHttpClient(
            new HttpClientOptions()
                .setKeepAlive(true)
                .setPipelining(false)
                .setTcpNoDelay(true)
                .setConnectTimeout(5_000)
                .setIdleTimeout(0),
            new PoolOptions().setHttp1MaxSize(connections).setMaxWaitQueueSize(-1));
    this.request =
        new RequestOptions()
            .setMethod(HttpMethod.GET)
            .setHost(target.ip())
            .setPort(target.port())
            .setURI(target.path())
            .setTimeout(10_000);
  }

  /**
   * {@code rate} requests per second for {@code warmupSeconds} (not recorded) then {@code seconds}
   * (recorded); waits at most 10 s more for the last answers (those missing count as timeouts).
   */
  Result openLoop(int rate, double warmupSeconds, double seconds) throws InterruptedException {
    long period = Math.max(1, 1_000_000_000L / rate);
    long warm = (long) (warmupSeconds * rate);
    long total = warm + (long) (seconds * rate);
    CountDownLatch done = new CountDownLatch((int) (total - warm));
    ctx.runOnContext(v -> reset());
    long start = System.nanoTime() + 10_000_000; // 10 ms to get the pacer going
    for (long i = 0; i < total; i++) {
      long due = start + i * period;
      long wait;
      while ((wait = due - System.nanoTime()) > 0) {
        if (wait > 200_000) {
          LockSupport.parkNanos(wait - 100_000);
        } else {
          Thread.onSpinWait();
        }
      }
      boolean measured = i >= warm;
      ctx.runOnContext(v -> exchange(due, measured, measured ? done::countDown : null));
    }
    long sent = total - warm;
    boolean all = done.await(10, TimeUnit.SECONDS);
    return snapshot(sent, all ? 0 : done.getCount(), seconds);
  }

  /**
   * {@code connections} requests in flight for warmup + seconds; throughput over the recorded part.
   */
  Result closedLoop(int connections, double warmupSeconds, double seconds)
      throws InterruptedException {
    long now = System.nanoTime();
    long measureStart = now + (long) (warmupSeconds * 1e9);
    long end = measureStart + (long) (seconds * 1e9);
    CountDownLatch done = new CountDownLatch(connections);
    ctx.runOnContext(v -> reset());
    for (int c = 0; c < connections; c++) {
      ctx.runOnContext(v -> loop(measureStart, end, done));
    }
    boolean all = done.await((long) (warmupSeconds + seconds + 15), TimeUnit.SECONDS);
    return snapshot(-1, all ? 0 : done.getCount(), seconds);
  }

  private void loop(long measureStart, long end, CountDownLatch done) {
    long t0 = System.nanoTime();
    if (t0 >= end) {
      done.countDown();
      return;
    }
    exchange(t0, t0 >= measureStart, () -> loop(measureStart, end, done));
  }

  private void exchange(long due, boolean measured, Runnable then) {
    client
        .request(request)
        .compose(
            req -> {
              if (target.hostHeader() != null) {
                req.authority(HostAndPort.parseAuthority(target.hostHeader(), -1));
              }
              return req.send();
            })
        .compose(resp -> resp.body().map(b -> resp.statusCode()))
        .onComplete(
            ar -> {
              if (measured) {
                if (ar.succeeded() && ar.result() < 400) {
                  ok++;
                  histogram.recordValue(Math.max(1, (System.nanoTime() - due) / 1000));
                } else {
                  errors++;
                }
              }
              if (then != null) {
                then.run();
              }
            });
  }

  private void reset() {
    histogram = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
    ok = 0;
    errors = 0;
  }

  private Result snapshot(long sent, long timeouts, double seconds) throws InterruptedException {
    CountDownLatch got = new CountDownLatch(1);
    Result[] out = new Result[1];
    ctx.runOnContext(
        v -> {
          out[0] =
              new Result(
                  sent < 0 ? ok + errors : sent, ok, errors, timeouts, histogram.copy(), seconds);
          got.countDown();
        });
    got.await(10, TimeUnit.SECONDS);
    return out[0];
  }

  @Override
  public void close() {
    try {
      client.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      // closing anyway
    }
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      // closing anyway
    }
  }
}
