package io.shopmesh.mesh.proxy;

import static io.shopmesh.mesh.proxy.Shapes.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.shopmesh.mesh.proxy.xds.XdsClient;
import io.vertx.core.json.JsonObject;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The ADS client against a scripted ADS server on a real socket. */
class XdsClientTest {
  static final String HOST = "product-service" + SUFFIX;
  static final String V1 = outbound(8080, "v1", HOST);

  final BlockingQueue<DiscoveryRequest> requests = new LinkedBlockingQueue<>();
  final AtomicReference<StreamObserver<DiscoveryResponse>> stream = new AtomicReference<>();
  Server server;
  Harness h;
  Proxy proxy;
  Stub app;
  int nonce;

  @BeforeEach
  void setUp() throws Exception {
    server = startServer(0);
    h = new Harness();
    app = h.stub("v1");
    ProxyOptions o =
        Harness.sidecarOptions(
            "frontend-5d4f9b7c6d-x7k2p",
            "frontend",
            "127.0.0.1",
            Map.of("app", "frontend", "version", "v1"));
    o.istiod = "127.0.0.1:" + server.getPort();
    proxy = new Proxy(o);
    proxy.start(true);
  }

  Server startServer(int port) throws Exception {
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
        .addService(
            new AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase() {
              @Override
              public StreamObserver<DiscoveryRequest> streamAggregatedResources(
                  StreamObserver<DiscoveryResponse> out) {
                stream.set(out);
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

  @AfterEach
  void tearDown() {
    proxy.close();
    h.close();
    server.shutdownNow();
  }

  DiscoveryRequest next(String type) throws InterruptedException {
    for (int i = 0; i < 50; i++) {
      DiscoveryRequest r = requests.poll(5, TimeUnit.SECONDS);
      if (r == null) {
        break;
      }
      if (r.getTypeUrl().equals(type)) {
        return r;
      }
    }
    throw new AssertionError("no " + type + " request");
  }

  String push(String type, String version, Message... resources) {
    String n = "nonce-" + (++nonce);
    DiscoveryResponse.Builder b =
        DiscoveryResponse.newBuilder().setTypeUrl(type).setVersionInfo(version).setNonce(n);
    for (Message m : resources) {
      b.addResources(Any.pack(m));
    }
    stream.get().onNext(b.build());
    return n;
  }

  RouteConfiguration routes(String body) {
    return routeConfig(
        "8080",
        serviceVhost(
            "product-service", 8080, route("r", prefix("/"), toCluster(V1, 5000).build())));
  }

  @Test
  void announcesNodeAcksNacksAndKeepsServing() throws Exception {
    DiscoveryRequest cds = next(XdsClient.CDS);
    assertThat(cds.getNode().getId())
        .isEqualTo("sidecar~127.0.0.1~frontend-5d4f9b7c6d-x7k2p.default~default.svc.cluster.local");
    assertThat(cds.getNode().getCluster()).isEqualTo("frontend.default");
    var md = cds.getNode().getMetadata().getFieldsMap();
    assertThat(md.get("NAME").getStringValue()).isEqualTo("frontend-5d4f9b7c6d-x7k2p");
    assertThat(md.get("NAMESPACE").getStringValue()).isEqualTo("default");
    assertThat(md.get("WORKLOAD_NAME").getStringValue()).isEqualTo("frontend");
    assertThat(md.get("LABELS").getStructValue().getFieldsMap().get("app").getStringValue())
        .isEqualTo("frontend");
    assertThat(md.get("INSTANCE_IPS").getStringValue()).isEqualTo("127.0.0.1");
    assertThat(md.get("POD_PORTS").getStringValue())
        .isEqualTo("[{\"containerPort\":8080,\"protocol\":\"TCP\"}]");
    assertThat(md.get("CLUSTER_ID").getStringValue()).isEqualTo("Kubernetes");
    assertThat(md.get("MESH_ID").getStringValue()).isEqualTo("cluster.local");
    assertThat(md.get("INTERCEPTION_MODE").getStringValue()).isEqualTo("NONE");
    assertThat(cds.getResourceNamesList()).isEmpty();
    assertThat(cds.getVersionInfo()).isEmpty();
    next(XdsClient.LDS);

    String n1 = push(XdsClient.CDS, "v1", edsCluster(V1, HOST, "product-service"), passthrough());
    DiscoveryRequest ack = next(XdsClient.CDS);
    assertThat(ack.getVersionInfo()).isEqualTo("v1");
    assertThat(ack.getResponseNonce()).isEqualTo(n1);
    assertThat(ack.hasErrorDetail()).isFalse();
    DiscoveryRequest eds = next(XdsClient.EDS);
    assertThat(eds.getResourceNamesList()).containsExactly(V1);
    push(XdsClient.EDS, "v1", cla(V1, false, null, app.hostPort()));
    next(XdsClient.EDS);
    push(
        XdsClient.LDS,
        "v1",
        listener("0.0.0.0_8080", "0.0.0.0", 8080, hcmRds("8080", "outbound_0.0.0.0_8080")));
    next(XdsClient.LDS);
    DiscoveryRequest rds = next(XdsClient.RDS);
    assertThat(rds.getResourceNamesList()).containsExactly("8080");
    String ready = "http://127.0.0.1:" + proxy.port("ready") + "/healthz/ready";
    assertThat(Harness.get(Harness.direct(), ready).statusCode()).isEqualTo(200);
    push(XdsClient.RDS, "v1", routes("ok"));
    DiscoveryRequest rdsAck = next(XdsClient.RDS);
    assertThat(rdsAck.getVersionInfo()).isEqualTo("v1");
    HttpResponse<String> r = Harness.get(Harness.viaProxy(proxy), "http://product-service:8080/");
    assertThat(r.statusCode()).isEqualTo(200);

    // A route config with a broken regex: NACK with the previous version and an error; keep
    // serving.
    RouteConfiguration bad =
        routeConfig(
            "8080",
            serviceVhost(
                "product-service",
                8080,
                route(
                    "bad",
                    RouteMatch.newBuilder()
                        .setSafeRegex(RegexMatcher.newBuilder().setRegex("("))
                        .build(),
                    toCluster(V1, 0).build())));
    String n2 = push(XdsClient.RDS, "v2", bad);
    DiscoveryRequest nack = next(XdsClient.RDS);
    assertThat(nack.getVersionInfo()).isEqualTo("v1");
    assertThat(nack.getResponseNonce()).isEqualTo(n2);
    assertThat(nack.getErrorDetail().getMessage()).contains("invalid regex");
    assertThat(Harness.get(Harness.viaProxy(proxy), "http://product-service:8080/").statusCode())
        .isEqualTo(200);

    // istiod goes away: the proxy keeps serving, reconnects, and re-announces its versions.
    int port = server.getPort();
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
    assertThat(Harness.get(Harness.viaProxy(proxy), "http://product-service:8080/").statusCode())
        .isEqualTo(200);
    requests.clear();
    server = startServer(port);
    DiscoveryRequest again = next(XdsClient.CDS);
    assertThat(again.getVersionInfo()).isEqualTo("v1");
    assertThat(again.getNode().getId()).startsWith("sidecar~");
  }

  JsonObject controlPlane() throws Exception {
    return new JsonObject(
            Harness.get(
                    Harness.direct(), "http://127.0.0.1:" + proxy.port("admin") + "/server_info")
                .body())
        .getJsonObject("control_plane");
  }

  @Test
  void reportsTheControlPlaneAndResumesWithItsVersionsAfterAnOutage() throws Exception {
    next(XdsClient.CDS);
    next(XdsClient.LDS);
    push(XdsClient.CDS, "c1", edsCluster(V1, HOST, "product-service"), passthrough());
    next(XdsClient.CDS);
    next(XdsClient.EDS);
    push(XdsClient.EDS, "e1", cla(V1, false, null, app.hostPort()));
    next(XdsClient.EDS);
    push(
        XdsClient.LDS,
        "l1",
        listener("0.0.0.0_8080", "0.0.0.0", 8080, hcmRds("8080", "outbound_0.0.0.0_8080")));
    next(XdsClient.LDS);
    next(XdsClient.RDS);
    push(XdsClient.RDS, "r1", routes("ok"));
    next(XdsClient.RDS);
    JsonObject cp = controlPlane();
    assertThat(cp.getBoolean("connected")).isTrue();
    assertThat(cp.getString("state")).isEqualTo("CONNECTED");
    assertThat(cp.getString("last_ack_time")).isNotNull();
    assertThat(cp.getInteger("reconnect_attempts")).isZero();
    assertThat(cp.getJsonObject("versions").getString("RDS")).isEqualTo("r1");
    assertThat(Harness.get(Harness.viaProxy(proxy), "http://product-service:8080/").statusCode())
        .isEqualTo(200);

    // istiod goes away: still ready and serving, and the admin port says it is not connected.
    int port = server.getPort();
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
    IstiodIntegrationTest.await(
        () -> !proxy.xds().controlPlane().connected(), "the proxy to notice istiod is gone");
    String ready = "http://127.0.0.1:" + proxy.port("ready") + "/healthz/ready";
    assertThat(Harness.get(Harness.direct(), ready).statusCode()).isEqualTo(200);
    assertThat(Harness.get(Harness.viaProxy(proxy), "http://product-service:8080/").statusCode())
        .isEqualTo(200);
    Thread.sleep(2_500);
    cp = controlPlane();
    assertThat(cp.getBoolean("connected")).isFalse();
    assertThat(cp.getString("state")).isIn("DISCONNECTED", "CONNECTING");
    assertThat(cp.getString("last_error")).contains("UNAVAILABLE");
    // jittered backoff capped at 500 ms: a few attempts in 2.5 s, not a tight loop
    assertThat(cp.getInteger("reconnect_attempts")).isBetween(2, 100);

    // istiod is back: a new stream within the 500 ms cap, announcing every version and name it
    // holds.
    requests.clear();
    long t0 = System.nanoTime();
    server = startServer(port);
    DiscoveryRequest cds = next(XdsClient.CDS);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.printf("ADS server back: first request after %d ms%n", ms);
    assertThat(ms).isLessThan(1_500);
    assertThat(cds.getVersionInfo()).isEqualTo("c1");
    assertThat(cds.getResponseNonce()).isEmpty();
    DiscoveryRequest lds = next(XdsClient.LDS);
    assertThat(lds.getVersionInfo()).isEqualTo("l1");
    DiscoveryRequest eds = next(XdsClient.EDS);
    assertThat(eds.getVersionInfo()).isEqualTo("e1");
    assertThat(eds.getResourceNamesList()).containsExactly(V1);
    DiscoveryRequest rds = next(XdsClient.RDS);
    assertThat(rds.getVersionInfo()).isEqualTo("r1");
    assertThat(rds.getResourceNamesList()).containsExactly("8080");

    // and converges to what istiod now serves
    RouteConfiguration moved =
        routeConfig(
            "8080",
            serviceVhost(
                "product-service",
                8080,
                route("r", prefix("/"), toCluster("PassthroughCluster", 5000).build())));
    String n = push(XdsClient.RDS, "r2", moved);
    DiscoveryRequest ack = next(XdsClient.RDS);
    assertThat(ack.getResponseNonce()).isEqualTo(n);
    assertThat(ack.getVersionInfo()).isEqualTo("r2");
    assertThat(proxy.xds().controlPlane().connected()).isTrue();
    assertThat(controlPlane().getInteger("reconnects_total")).isGreaterThan(0);
    assertThat(proxy.state().routes().get("8080").version()).isEqualTo("r2");
  }
}
