package io.shopmesh.mesh.proxy.http;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.shopmesh.mesh.proxy.Harness;
import io.shopmesh.mesh.proxy.NodeInfo;
import io.shopmesh.mesh.proxy.router.RouteTable;
import io.shopmesh.mesh.proxy.stats.AccessLog;
import io.shopmesh.mesh.proxy.stats.IstioMetrics;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Runs HTTP filters on real requests over a socket: a server whose connection manager selects the
 * route from one route config and runs the filters under test, then a terminal filter that answers
 * 200 "routed" (standing in for the router) after letting every filter add its upstream headers.
 */
public final class FilterHarness implements AutoCloseable {
  public final Vertx vertx = Vertx.vertx();
  public final IstioMetrics metrics = new IstioMetrics();
  public final NodeInfo node;
  public final ProxyContext ctx;
  public final List<HttpStream> streams = new CopyOnWriteArrayList<>();
  public final AtomicInteger routed = new AtomicInteger();

  /** The upstream headers of the last routed request. */
  public volatile MultiMap upstreamHeaders;

  private final HttpServer server;
  private final HttpFilterChain chain;
  private final RouteTable table;
  private final Direction direction;

  @SafeVarargs
  public FilterHarness(
      Direction direction, List<Route> routes, Function<ProxyContext, HttpFilter>... filters)
      throws Exception {
    this.direction = direction;
    this.node =
        new NodeInfo(
            Harness.sidecarOptions(
                "frontend-5d4f-abcde", "frontend", "127.0.0.1", Map.of("app", "frontend")));
    this.ctx =
        new ProxyContext(vertx, null, node, node.options(), metrics, new AccessLog("off"), null);
    RouteConfiguration.Builder rc = RouteConfiguration.newBuilder().setName("test");
    rc.addVirtualHosts(
        VirtualHost.newBuilder().setName("all").addDomains("*").addAllRoutes(routes));
    this.table = new RouteTable(rc.build());
    List<String> names = new ArrayList<>();
    List<Supplier<HttpFilter>> fs = new ArrayList<>();
    for (Function<ProxyContext, HttpFilter> f : filters) {
      names.add(f.apply(ctx).name());
      fs.add(() -> f.apply(ctx));
    }
    names.add("terminal");
    fs.add(Terminal::new);
    chain = new HttpFilterChain(names, fs);
    server =
        vertx
            .createHttpServer()
            .requestHandler(
                req -> {
                  HttpStream s =
                      new HttpStream(ctx, req, new Binding(direction, "test", 0, null), chain);
                  streams.add(s);
                  s.setTarget(RequestTarget.of(req));
                  s.setRequestId("test-id");
                  s.setFilterChain(chain);
                  RouteTable.VHost vh = table.virtualHost(s.target().authority());
                  s.setRoute(table, vh, vh.match(new RequestView(req, s.target())));
                  s.continueDecoding();
                });
    server
        .listen(0, "127.0.0.1")
        .toCompletionStage()
        .toCompletableFuture()
        .get(5, TimeUnit.SECONDS);
  }

  /** Stands in for the router: records the upstream headers, answers 200 "routed". */
  final class Terminal implements HttpFilter {
    @Override
    public String name() {
      return "terminal";
    }

    @Override
    public Status decodeHeaders(HttpStream s) {
      routed.incrementAndGet();
      MultiMap up = MultiMap.caseInsensitiveMultiMap();
      s.encodeUpstreamHeaders(up);
      upstreamHeaders = up;
      s.sendLocalReply(200, "routed", "via_test");
      return Status.STOP;
    }
  }

  public HttpResponse<String> send(String method, String path, String... headers) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.actualPort() + path))
            .method(method, HttpRequest.BodyPublishers.noBody());
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .build()
        .send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The stream of the last request. */
  public HttpStream last() {
    return streams.get(streams.size() - 1);
  }

  public Direction direction() {
    return direction;
  }

  @Override
  public void close() {
    vertx.close().toCompletionStage().toCompletableFuture().join();
  }
}
