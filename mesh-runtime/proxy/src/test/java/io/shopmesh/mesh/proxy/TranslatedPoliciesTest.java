package io.shopmesh.mesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.ProxyNode;
import io.shopmesh.mesh.xds.ServiceRegistry;
import io.shopmesh.mesh.xds.WorkloadInstance;
import io.shopmesh.mesh.xds.XdsGenerator;
import io.shopmesh.mesh.xds.XdsResources;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PfxOptions;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The proxy on what the real translator makes of traffic policies written as Istio YAML. */
class TranslatedPoliciesTest {
  static final WorkloadInstance FRONTEND =
      new WorkloadInstance(
          "frontend-0",
          "default",
          "127.0.0.1",
          Map.of("app", "frontend"),
          "frontend",
          List.of(new PodPort("http", 8080, "TCP")),
          true);

  @TempDir Path tmp;
  Harness h;

  @BeforeEach
  void setUp() {
    h = new Harness();
  }

  @AfterEach
  void tearDown() {
    h.close();
  }

  /** A sidecar for FRONTEND on the translation of the given YAML. */
  Proxy sidecar(String yaml, Path hostsFile) throws Exception {
    Path f = tmp.resolve("config-" + System.nanoTime() + ".yaml");
    Files.writeString(f, yaml);
    LoadResult loaded = new ConfigLoader().load(List.of(f));
    assertThat(loaded.hasErrors()).as("load: %s", loaded.diagnostics()).isFalse();
    MeshConfig config = loaded.config();
    ServiceRegistry registry = new ServiceRegistry(List.of(FRONTEND));
    ProxyOptions o =
        Harness.sidecarOptions(
            FRONTEND.podName(), FRONTEND.workloadName(), "127.0.0.1", FRONTEND.labels());
    if (hostsFile != null) {
      o.hostsFile = hostsFile;
    }
    Proxy p = h.start(o);
    XdsResources r = XdsGenerator.generate(config, registry, ProxyNode.sidecar(FRONTEND));
    p.apply(r.clusters(), r.endpoints(), r.listeners(), r.routes());
    return p;
  }

  /** A STATIC ServiceEntry {@code api.internal.example} on port 80 with the given endpoints. */
  static String staticEntry(int... ports) {
    StringBuilder sb =
        new StringBuilder(
            """
            apiVersion: networking.istio.io/v1beta1
            kind: ServiceEntry
            metadata: {name: api, namespace: default}
            spec:
              hosts: [api.internal.example]
              location: MESH_EXTERNAL
              resolution: STATIC
              ports: [{number: 80, name: http, protocol: HTTP}]
              endpoints:
            """);
    for (int port : ports) {
      sb.append("  - {address: 127.0.0.1, ports: {http: ").append(port).append("}}\n");
    }
    return sb.toString();
  }

  @Test
  void aDelayedRouteKeepsItsRetriesAndTimeout() throws Exception {
    Stub up = h.stub("up");
    int down = Harness.refusedPort();
    String yaml =
        staticEntry(up.port(), down)
            + """
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: VirtualService
            metadata: {name: api, namespace: default}
            spec:
              hosts: [api.internal.example]
              http:
              - route: [{destination: {host: api.internal.example}}]
                timeout: 5s
                retries: {attempts: 3, retryOn: "connect-failure,503"}
                fault:
                  delay: {fixedDelay: 0.1s, percentage: {value: 100}}
            """;
    HttpClient c = Harness.viaProxy(sidecar(yaml, null));
    for (int i = 0; i < 12; i++) {
      long t0 = System.nanoTime();
      HttpResponse<String> r = Harness.get(c, "http://api.internal.example/x");
      assertThat(r.statusCode()).as("request %d", i).isEqualTo(200);
      assertThat(r.body()).isEqualTo("up");
      assertThat((System.nanoTime() - t0) / 1_000_000).isGreaterThanOrEqualTo(95);
    }
    assertThat(up.count.get()).isEqualTo(12);
  }

  @Test
  void theRouteTimerStartsWhenTheDelayedRequestIsReleased() throws Exception {
    Stub up = h.stub("up");
    up.mode = Stub.Mode.DELAY;
    up.delayMs = 300;
    String yaml =
        staticEntry(up.port())
            + """
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: VirtualService
            metadata: {name: api, namespace: default}
            spec:
              hosts: [api.internal.example]
              http:
              - route: [{destination: {host: api.internal.example}}]
                timeout: 0.5s
                fault:
                  delay: {fixedDelay: 0.4s, percentage: {value: 100}}
            """;
    HttpClient c = Harness.viaProxy(sidecar(yaml, null));
    // 0.4 s delay + 0.3 s upstream > 0.5 s, yet within the route's timeout counted from release.
    HttpResponse<String> r = Harness.get(c, "http://api.internal.example/x");
    assertThat(r.statusCode()).isEqualTo(200);
    up.delayMs = 700;
    assertThat(Harness.get(c, "http://api.internal.example/x").statusCode()).isEqualTo(504);
  }

  @Test
  void aFaultWithoutPercentageInjectsNothing() throws Exception {
    Stub up = h.stub("up");
    String yaml =
        staticEntry(up.port())
            + """
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: VirtualService
            metadata: {name: api, namespace: default}
            spec:
              hosts: [api.internal.example]
              http:
              - route: [{destination: {host: api.internal.example}}]
                fault:
                  abort: {httpStatus: 500}
            """;
    HttpClient c = Harness.viaProxy(sidecar(yaml, null));
    for (int i = 0; i < 20; i++) {
      assertThat(Harness.get(c, "http://api.internal.example/x").statusCode()).isEqualTo(200);
    }
  }

  /** A self-signed certificate for {@code secure.internal.example}: the keystore and its PEM. */
  Path[] selfSigned() throws Exception {
    Path p12 =
        TestCertificates.selfSigned(
            tmp.resolve("server.p12"),
            "s",
            "CN=secure.internal.example",
            "dns:secure.internal.example");
    Path pem = TestCertificates.exportPem(p12, "s", tmp.resolve("server-ca.crt"));
    return new Path[] {p12, pem};
  }

  /** The status a sidecar answers for http://secure.internal.example/ with this port-80 tls. */
  int originate(int tlsPort, String tls) throws Exception {
    String yaml =
        """
        apiVersion: networking.istio.io/v1beta1
        kind: ServiceEntry
        metadata: {name: secure, namespace: default}
        spec:
          hosts: [secure.internal.example]
          location: MESH_EXTERNAL
          resolution: STATIC
          ports: [{number: 80, name: http, protocol: HTTP}]
          endpoints:
          - {address: 127.0.0.1, ports: {http: %d}}
        ---
        apiVersion: networking.istio.io/v1beta1
        kind: DestinationRule
        metadata: {name: secure, namespace: default}
        spec:
          host: secure.internal.example
          trafficPolicy:
            tls: %s
        """
            .formatted(tlsPort, tls);
    HttpClient c = Harness.viaProxy(sidecar(yaml, null));
    HttpResponse<String> r = Harness.get(c, "http://secure.internal.example/pay");
    if (r.statusCode() == 200) {
      assertThat(r.body()).isEqualTo("secure /pay sni=secure.internal.example");
    }
    return r.statusCode();
  }

  @Test
  void tlsOriginationVerifiesTheServer() throws Exception {
    Path[] cert = selfSigned();
    HttpServer server =
        h.vertx
            .createHttpServer(
                new HttpServerOptions()
                    .setSsl(true)
                    .setSni(true)
                    .setKeyCertOptions(
                        new PfxOptions().setPath(cert[0].toString()).setPassword("changeit")))
            .requestHandler(
                req ->
                    req.response()
                        .end(
                            "secure "
                                + req.path()
                                + " sni="
                                + req.connection().indicatedServerName()));
    server
        .listen(0, "127.0.0.1")
        .toCompletionStage()
        .toCompletableFuture()
        .get(5, TimeUnit.SECONDS);
    int port = server.actualPort();
    // No caCertificates: Istio's "system" root, which does not know a self-signed certificate.
    assertThat(originate(port, "{mode: SIMPLE}")).isEqualTo(503);
    // The CA given: accepted; auto_sni sends the request's host, auto_san_validation checks it.
    assertThat(originate(port, "{mode: SIMPLE, caCertificates: %s}".formatted(cert[1])))
        .isEqualTo(200);
    // insecureSkipVerify is the only way to skip verification.
    assertThat(originate(port, "{mode: SIMPLE, insecureSkipVerify: true}")).isEqualTo(200);
    // The chain is trusted but no SAN matches subjectAltNames: rejected.
    assertThat(
            originate(
                port,
                "{mode: SIMPLE, caCertificates: %s, subjectAltNames: [other.example]}"
                    .formatted(cert[1])))
        .isEqualTo(503);
    assertThat(
            originate(
                port,
                "{mode: SIMPLE, caCertificates: %s, subjectAltNames: [secure.internal.example]}"
                    .formatted(cert[1])))
        .isEqualTo(200);
  }

  @Test
  void redirectsAsEnvoyBuildsThemFromIstiosRedirect() throws Exception {
    Stub up = h.stub("up");
    String yaml =
        """
        apiVersion: networking.istio.io/v1beta1
        kind: ServiceEntry
        metadata: {name: web, namespace: default}
        spec:
          hosts: [web.internal.example]
          location: MESH_EXTERNAL
          resolution: STATIC
          ports: [{number: 80, name: http, protocol: HTTP}]
          endpoints:
          - {address: 127.0.0.1, ports: {http: %d}}
        ---
        apiVersion: networking.istio.io/v1beta1
        kind: VirtualService
        metadata: {name: web, namespace: default}
        spec:
          hosts: [web.internal.example]
          http:
          - match: [{uri: {prefix: /keep}}]
            redirect: {uri: /new}
          - match: [{uri: {prefix: /https}}]
            redirect: {scheme: https, derivePort: FROM_PROTOCOL_DEFAULT}
          - match: [{uri: {prefix: /reqport}}]
            redirect: {scheme: https, derivePort: FROM_REQUEST_PORT}
          - match: [{uri: {prefix: /elsewhere}}]
            redirect: {authority: other.example, port: 9443, redirectCode: 307}
          - route: [{destination: {host: web.internal.example}}]
        """
            .formatted(up.port());
    Proxy p = sidecar(yaml, null);
    int port = p.port("outbound");
    // the query is kept; the scheme unchanged, so is the request's :80
    assertThat(location(port, "/keep?q=1")).isEqualTo("301 http://web.internal.example:80/new?q=1");
    // a new scheme drops the old scheme's default port
    assertThat(location(port, "/https/a?q=1"))
        .isEqualTo("301 https://web.internal.example/https/a?q=1");
    // FROM_REQUEST_PORT: Istio writes the listener's port as port_redirect
    assertThat(location(port, "/reqport?q=1"))
        .isEqualTo("301 https://web.internal.example:80/reqport?q=1");
    // host_redirect replaces the authority; port_redirect appended; the code as given
    assertThat(location(port, "/elsewhere?q=1"))
        .isEqualTo("307 http://other.example:9443/elsewhere?q=1");
    assertThat(up.count.get()).isZero();
  }

  @Test
  void aHostHeaderSetInTheVirtualServiceRewritesTheAuthority() throws Exception {
    Stub a = h.stub("a");
    Stub b = h.stub("b");
    String yaml =
        """
        apiVersion: networking.istio.io/v1beta1
        kind: ServiceEntry
        metadata: {name: api, namespace: default}
        spec:
          hosts: [api.internal.example]
          location: MESH_EXTERNAL
          resolution: STATIC
          ports: [{number: 80, name: http, protocol: HTTP}]
          endpoints:
          - {address: 127.0.0.1, ports: {http: %d}, labels: {version: a}}
          - {address: 127.0.0.1, ports: {http: %d}, labels: {version: b}}
        ---
        apiVersion: networking.istio.io/v1beta1
        kind: DestinationRule
        metadata: {name: api, namespace: default}
        spec:
          host: api.internal.example
          subsets:
          - {name: a, labels: {version: a}}
          - {name: b, labels: {version: b}}
        ---
        apiVersion: networking.istio.io/v1beta1
        kind: VirtualService
        metadata: {name: api, namespace: default}
        spec:
          hosts: [api.internal.example]
          http:
          - match: [{uri: {prefix: /all}}]
            headers: {request: {set: {host: all.internal}}}
            route: [{destination: {host: api.internal.example, subset: b}}]
          - route:
            - destination: {host: api.internal.example, subset: a}
              weight: 50
              headers: {request: {set: {host: a.internal}}}
            - destination: {host: api.internal.example, subset: b}
              weight: 50
        """
            .formatted(a.port(), b.port());
    HttpClient c = Harness.viaProxy(sidecar(yaml, null));
    assertThat(Harness.get(c, "http://api.internal.example/all").statusCode()).isEqualTo(200);
    assertThat(b.headers.get(0).get("host")).isEqualTo("all.internal");
    b.headers.clear();
    for (int i = 0; i < 40; i++) {
      assertThat(Harness.get(c, "http://api.internal.example/x").statusCode()).isEqualTo(200);
    }
    // the weighted destination's host rewrite applies to its cluster only
    assertThat(a.headers).isNotEmpty().allMatch(m -> "a.internal".equals(m.get("host")));
    assertThat(b.headers).isNotEmpty().allMatch(m -> "api.internal.example".equals(m.get("host")));
  }

  @Test
  void aDelegatedRuleRoutesAsTheMergedRules() throws Exception {
    Stub a = h.stub("a");
    Stub b = h.stub("b");
    Stub rest = h.stub("rest");
    String yaml =
        """
        apiVersion: networking.istio.io/v1beta1
        kind: ServiceEntry
        metadata: {name: api, namespace: default}
        spec:
          hosts: [api.internal.example]
          location: MESH_EXTERNAL
          resolution: STATIC
          ports: [{number: 80, name: http, protocol: HTTP}]
          endpoints:
          - {address: 127.0.0.1, ports: {http: %d}, labels: {version: a}}
          - {address: 127.0.0.1, ports: {http: %d}, labels: {version: b}}
          - {address: 127.0.0.1, ports: {http: %d}, labels: {version: rest}}
        ---
        apiVersion: networking.istio.io/v1beta1
        kind: DestinationRule
        metadata: {name: api, namespace: default}
        spec:
          host: api.internal.example
          subsets:
          - {name: a, labels: {version: a}}
          - {name: b, labels: {version: b}}
          - {name: rest, labels: {version: rest}}
        ---
        apiVersion: networking.istio.io/v1beta1
        kind: VirtualService
        metadata: {name: api, namespace: default}
        spec:
          hosts: [api.internal.example]
          http:
          - match: [{uri: {prefix: /team}}]
            delegate: {name: team-routes, namespace: team}
            headers: {response: {set: {x-via: root}}}
          - route: [{destination: {host: api.internal.example, subset: rest}}]
        ---
        apiVersion: networking.istio.io/v1beta1
        kind: VirtualService
        metadata: {name: team-routes, namespace: team}
        spec:
          http:
          - match: [{uri: {prefix: /team/b}}]
            route: [{destination: {host: api.internal.example, subset: b}}]
          - match: [{uri: {prefix: /other}}]
            route: [{destination: {host: api.internal.example, subset: b}}]
          - route: [{destination: {host: api.internal.example, subset: a}}]
        """
            .formatted(a.port(), b.port(), rest.port());
    HttpClient c = Harness.viaProxy(sidecar(yaml, null));
    HttpResponse<String> toB = Harness.get(c, "http://api.internal.example/team/b/1");
    assertThat(toB.body()).isEqualTo("b");
    assertThat(toB.headers().firstValue("x-via")).hasValue("root");
    assertThat(Harness.get(c, "http://api.internal.example/team/x").body()).isEqualTo("a");
    // the delegate's /other rule is outside the root's /team: Istio drops it
    assertThat(Harness.get(c, "http://api.internal.example/other").body()).isEqualTo("rest");
    assertThat(Harness.get(c, "http://api.internal.example/").body()).isEqualTo("rest");
  }

  @Test
  void outboundResponsesCarryServerEnvoyOverwritingTheUpstreams() throws Exception {
    Stub up = h.stub("up");
    up.responseHeaders.set("server", "gunicorn");
    HttpClient c = Harness.viaProxy(sidecar(staticEntry(up.port()), null));
    HttpResponse<String> r = Harness.get(c, "http://api.internal.example/x");
    assertThat(r.statusCode()).isEqualTo(200);
    // Istio leaves the outbound HCM's server_name at Envoy's default and overwrites
    assertThat(r.headers().allValues("server")).containsExactly("envoy");
    // a response the proxy makes itself (nothing listens on port 81 upstream) too
    HttpResponse<String> local = Harness.get(c, "http://api.internal.example:81/x");
    assertThat(local.headers().allValues("server")).containsExactly("envoy");
  }

  @Test
  void aCookieHashWithATtlGeneratesTheCookieSoSessionsStick() throws Exception {
    Stub a = h.stub("a");
    Stub b = h.stub("b");
    Stub c3 = h.stub("c");
    String yaml =
        staticEntry(a.port(), b.port(), c3.port())
            + """
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: DestinationRule
            metadata: {name: api, namespace: default}
            spec:
              host: api.internal.example
              trafficPolicy:
                loadBalancer:
                  consistentHash:
                    httpCookie: {name: session, path: /, ttl: 60s}
            """;
    HttpClient c = Harness.viaProxy(sidecar(yaml, null));
    HttpResponse<String> first = Harness.get(c, "http://api.internal.example/x");
    assertThat(first.statusCode()).isEqualTo(200);
    String setCookie = first.headers().firstValue("set-cookie").orElseThrow();
    assertThat(setCookie).matches("session=\"[0-9a-f]{16}\"; Max-Age=60; Path=/; HttpOnly");
    String value = setCookie.substring("session=\"".length(), "session=\"".length() + 16);
    // the generated cookie was the hash key: every request carrying it reaches the same host
    for (int i = 0; i < 20; i++) {
      HttpResponse<String> r =
          Harness.get(c, "http://api.internal.example/x", "cookie", "session=" + value);
      assertThat(r.body()).as("request %d", i).isEqualTo(first.body());
      assertThat(r.headers().firstValue("set-cookie")).isEmpty();
    }
    // other sessions spread over the hosts
    Set<String> bodies = new HashSet<>();
    for (int i = 0; i < 40; i++) {
      bodies.add(Harness.get(c, "http://api.internal.example/x", "cookie", "session=s" + i).body());
    }
    assertThat(bodies).hasSizeGreaterThan(1);
  }

  @Test
  void theRoutesDecoratorOperationGoesUpstreamAndNotBackToTheClient() throws Exception {
    Stub up = h.stub("up");
    up.responseHeaders.set("x-envoy-decorator-operation", "upstream-op");
    String yaml =
        staticEntry(up.port())
            + """
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: VirtualService
            metadata: {name: api, namespace: default}
            spec:
              hosts: [api.internal.example]
              http:
              - match: [{uri: {prefix: /orders}}]
                route: [{destination: {host: api.internal.example}}]
            """;
    HttpClient c = Harness.viaProxy(sidecar(yaml, null));
    HttpResponse<String> r =
        Harness.get(
            c, "http://api.internal.example/orders/1", "x-envoy-decorator-operation", "client-op");
    assertThat(r.statusCode()).isEqualTo(200);
    // Istio's getRouteOperation, sent as Envoy's egress HCM does with tracing on
    assertThat(up.headers.get(0).getAll("x-envoy-decorator-operation"))
        .containsExactly("api.internal.example:80/orders*");
    // the upstream's value only names the client span: Envoy removes it
    assertThat(r.headers().firstValue("x-envoy-decorator-operation")).isEmpty();
  }

  @Test
  void anIdlePooledConnectionClosesAfterTheClustersIdleTimeout() throws Exception {
    Stub idle = h.stub("idle");
    Stub kept = h.stub("kept");
    String entry =
        """
        apiVersion: networking.istio.io/v1beta1
        kind: ServiceEntry
        metadata: {name: %1$s, namespace: default}
        spec:
          hosts: [%1$s.internal.example]
          location: MESH_EXTERNAL
          resolution: STATIC
          ports: [{number: %2$d, name: http, protocol: HTTP}]
          endpoints: [{address: 127.0.0.1}]
        ---
        """;
    String yaml =
        entry.formatted("idle", idle.port())
            + entry.formatted("kept", kept.port())
            + """
            apiVersion: networking.istio.io/v1beta1
            kind: DestinationRule
            metadata: {name: idle, namespace: default}
            spec:
              host: idle.internal.example
              trafficPolicy:
                connectionPool: {http: {idleTimeout: 1s}}
            """;
    Proxy p = sidecar(yaml, null);
    HttpClient c = Harness.viaProxy(p);
    for (Stub st : List.of(idle, kept)) {
      String host = st.name + ".internal.example";
      assertThat(Harness.get(c, "http://" + host + ":" + st.port() + "/a").statusCode())
          .isEqualTo(200);
    }
    Thread.sleep(2500);
    for (Stub st : List.of(idle, kept)) {
      String host = st.name + ".internal.example";
      assertThat(Harness.get(c, "http://" + host + ":" + st.port() + "/b").statusCode())
          .isEqualTo(200);
    }
    // 1 s idle timeout: the second request needed a new connection; the default kept the first
    assertThat(idle.clientPorts).hasSize(2);
    assertThat(kept.clientPorts).hasSize(1);
  }

  /** "status location" of a request for web.internal.example:80 through the outbound port. */
  static String location(int proxyPort, String pathAndQuery) throws Exception {
    String resp =
        Harness.raw(
            "127.0.0.1",
            proxyPort,
            "GET http://web.internal.example:80"
                + pathAndQuery
                + " HTTP/1.1\r\nHost: web.internal.example:80\r\nConnection: close\r\n\r\n");
    String status = resp.substring(9, 12);
    for (String line : resp.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("location:")) {
        return status + " " + line.substring("location:".length()).trim();
      }
    }
    return status + " (no location) " + resp;
  }
}
