package io.shopmesh.mesh.proxy;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/** An ADS server on a real socket that pushes what the test says and records every request. */
final class ScriptedAds implements AutoCloseable {
  final BlockingQueue<DiscoveryRequest> requests = new LinkedBlockingQueue<>();
  final AtomicReference<StreamObserver<DiscoveryResponse>> stream = new AtomicReference<>();
  final AtomicInteger streams = new AtomicInteger();
  private final AtomicInteger nonce = new AtomicInteger();
  private Server server;

  /** When the last push was handed to gRPC (after packing its resources). */
  volatile long lastSendNanos;

  ScriptedAds(int port) throws Exception {
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
            .addService(
                new AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase() {
                  @Override
                  public StreamObserver<DiscoveryRequest> streamAggregatedResources(
                      StreamObserver<DiscoveryResponse> out) {
                    stream.set(out);
                    streams.incrementAndGet();
                    return new StreamObserver<>() {
                      @Override
                      public void onNext(DiscoveryRequest r) {
                        requests.add(r);
                      }

                      @Override
                      public void onError(Throwable t) {}

                      @Override
                      public void onCompleted() {}
                    };
                  }
                })
            .build()
            .start();
  }

  int port() {
    return server.getPort();
  }

  String push(String type, String version, List<? extends Message> resources) {
    String n = "nonce-" + nonce.incrementAndGet();
    DiscoveryResponse.Builder b =
        DiscoveryResponse.newBuilder().setTypeUrl(type).setVersionInfo(version).setNonce(n);
    for (Message m : resources) {
      b.addResources(Any.pack(m));
    }
    DiscoveryResponse r = b.build();
    lastSendNanos = System.nanoTime();
    stream.get().onNext(r);
    return n;
  }

  /** The next request of a type (others are skipped), or an AssertionError. */
  DiscoveryRequest next(String type, long timeoutMs) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (System.nanoTime() < end) {
      DiscoveryRequest r = requests.poll(end - System.nanoTime(), TimeUnit.NANOSECONDS);
      if (r != null && r.getTypeUrl().equals(type)) {
        return r;
      }
    }
    throw new AssertionError("no " + type + " request within " + timeoutMs + " ms");
  }

  /** Waits for the ACK or NACK of a nonce. */
  DiscoveryRequest answerTo(String type, String nonce, long timeoutMs) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (System.nanoTime() < end) {
      DiscoveryRequest r = next(type, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime()) + 1);
      if (r.getResponseNonce().equals(nonce)) {
        return r;
      }
    }
    throw new AssertionError("no answer to " + nonce);
  }

  void stop() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
