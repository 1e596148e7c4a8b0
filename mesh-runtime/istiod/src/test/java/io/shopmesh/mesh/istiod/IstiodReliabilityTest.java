package io.shopmesh.mesh.istiod;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.grpc.Status;
import io.shopmesh.mesh.testing.AdsTestClient;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.ProxyNode;
import io.shopmesh.mesh.xds.WorkloadInstance;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * istiod's reliability promises on ephemeral ports with a real ADS client: the registry comes from
 * the registry file (not from who connects), xDS waits for it, a restart never shrinks an endpoint
 * list; duplicates and emptied files keep the last good config; apply is bounded and truthful.
 */
class IstiodReliabilityTest {

  static final Path MANIFESTS = IstiodIntegrationTest.MANIFESTS;
  static final String V1 = IstiodIntegrationTest.V1;
  static final String V2 = IstiodIntegrationTest.V2;

  Path dir;
  Path registry;
  Istiod istiod;
  final List<AutoCloseable> closing = new ArrayList<>();
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  static final WorkloadInstance FRONTEND = IstiodIntegrationTest.FRONTEND;

  @BeforeEach
  void setUp() throws IOException {
    dir = Files.createTempDirectory("istiod-rel");
    try (Stream<Path> s = Files.list(MANIFESTS)) {
      for (Path p : s.filter(p -> p.toString().endsWith(".yaml")).toList()) {
        Files.copy(p, dir.resolve(p.getFileName()));
      }
    }
    registry = Files.createTempDirectory("istiod-reg").resolve("registry.json");
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closing) {
      c.close();
    }
    if (istiod != null) {
      istiod.close();
    }
    for (Path root : List.of(dir, registry.getParent())) {
      try (Stream<Path> s = Files.walk(root)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  Istiod start(boolean withRegistry) throws IOException {
    istiod =
        new Istiod(new DirectoryConfigSource(dir, 200), withRegistry ? registry : null)
            .start("127.0.0.1", 0, 0);
    return istiod;
  }

  AdsTestClient connect(WorkloadInstance w) {
    AdsTestClient c = new AdsTestClient(istiod.xdsPort(), ProxyNode.sidecar(w).toNode());
    closing.add(c);
    return c;
  }

  static String pod(String name, String ip, String version, boolean ready) {
    return String.format(
        "{\"name\":\"%s\",\"namespace\":\"default\",\"ip\":\"%s\",\"workload\":\"product-service-%s\","
            + "\"labels\":{\"app\":\"product-service\",\"version\":\"%s\"},"
            + "\"ports\":[{\"containerPort\":8080,\"protocol\":\"TCP\"}],\"sidecar\":true,"
            + "\"ready\":%s}",
        name, ip, version, version, ready);
  }

  void writeRegistry(String... pods) throws IOException {
    Path tmp = registry.resolveSibling(".registry.tmp");
    Files.writeString(tmp, "{\"source\":\"test plan\",\"pods\":[" + String.join(",", pods) + "]}");
    Files.move(
        tmp,
        registry,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  @Test
  void theRegistryIsThePlanAndXdsWaitsForIt() throws Exception {
    start(true);
    assertThat(status("/ready")).as("not ready before the registry").isEqualTo(503);
    AdsTestClient early = connect(FRONTEND);
    await(() -> early.error != null, 5_000);
    assertThat(Status.fromThrowable(early.error).getCode()).isEqualTo(Status.Code.UNAVAILABLE);

    writeRegistry(
        pod("product-v1-a", "127.0.1.3", "v1", true),
        pod("product-v1-b", "127.0.1.4", "v1", true),
        pod("product-v2-a", "127.0.1.5", "v2", false));
    await(() -> status("/ready") == 200, 5_000);
    AdsTestClient frontend = connect(FRONTEND);
    await(frontend::hasAll, 10_000);
    // only ready pods are endpoints; the frontend's own announcement adds nothing
    assertThat(addresses(frontend, V1)).containsExactly("127.0.1.3:8080", "127.0.1.4:8080");
    assertThat(addresses(frontend, V2)).isEmpty();
    JsonNode reg = json("/debug/registryz");
    assertThat(reg).hasSize(3);
    assertThat(reg.get(0).get("source").asText()).contains("test plan");

    writeRegistry(
        pod("product-v1-a", "127.0.1.3", "v1", true),
        pod("product-v1-b", "127.0.1.4", "v1", false),
        pod("product-v2-a", "127.0.1.5", "v2", true));
    await(() -> addresses(frontend, V2).size() == 1, 5_000);
    assertThat(addresses(frontend, V1)).containsExactly("127.0.1.3:8080");

    // a restarted istiod serves the whole list to the first proxy that comes back
    istiod.close();
    start(true);
    long t0 = System.nanoTime();
    AdsTestClient back = connect(FRONTEND);
    await(back::hasAll, 10_000);
    System.out.println(
        "[figure] istiod restart -> first proxy has full config in "
            + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)
            + " ms");
    assertThat(back.endpoints(V1).getEndpoints(0).getLbEndpointsCount()).isEqualTo(1);
    assertThat(back.endpoints(V2).getEndpoints(0).getLbEndpointsCount()).isEqualTo(1);
  }

  /** A pod of the plan whose proxy must present {@code token}. */
  static String withToken(String podJson, String token) {
    return podJson.substring(0, podJson.length() - 1)
        + ",\"tokenSha256\":\""
        + XdsAuthenticator.sha256(token)
        + "\"}";
  }

  AdsTestClient connect(WorkloadInstance w, String token) {
    AdsTestClient c =
        new AdsTestClient(
            "127.0.0.1", istiod.xdsPort(), ProxyNode.sidecar(w).toNode(), Map.of(), true, token);
    closing.add(c);
    return c;
  }

  @Test
  void onlyAProxyWithItsPodsTokenGetsConfig() throws Exception {
    String frontendToken = XdsAuthenticator.newToken();
    String v1Token = XdsAuthenticator.newToken();
    String frontendPod =
        "{\"name\":\"frontend-0\",\"namespace\":\"default\",\"ip\":\"127.0.1.1\","
            + "\"workload\":\"frontend\",\"labels\":{\"app\":\"frontend\",\"version\":\"v1\"},"
            + "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],\"sidecar\":true,"
            + "\"ready\":true}";
    writeRegistry(
        withToken(frontendPod, frontendToken),
        withToken(pod("product-v1-a", "127.0.1.3", "v1", true), v1Token));
    start(true);
    await(() -> status("/ready") == 200, 5_000);

    // the real pods, each with its own token
    AdsTestClient frontend = connect(FRONTEND, frontendToken);
    await(frontend::hasAll, 10_000);
    assertThat(addresses(frontend, V1)).containsExactly("127.0.1.3:8080");

    // a process started by hand claiming to be a product v1 pod: no token, a made-up token, a
    // real pod's token for another pod's node id. Each is refused before any resource is sent.
    WorkloadInstance impostor =
        new WorkloadInstance(
            "product-v1-x",
            "default",
            "127.0.1.9",
            Map.of("app", "product-service", "version", "v1"),
            "product-service-v1",
            List.of(new PodPort("http", 8080, "TCP")),
            true);
    WorkloadInstance v1 =
        new WorkloadInstance(
            "product-v1-a",
            "default",
            "127.0.1.3",
            Map.of("app", "product-service", "version", "v1"),
            "product-service-v1",
            List.of(new PodPort("http", 8080, "TCP")),
            true);
    AdsTestClient none = connect(impostor, null);
    AdsTestClient madeUp = connect(impostor, XdsAuthenticator.newToken());
    AdsTestClient borrowed = connect(v1, frontendToken);
    for (AdsTestClient c : List.of(none, madeUp, borrowed)) {
      await(() -> c.error != null, 5_000);
      Status s = Status.fromThrowable(c.error);
      assertThat(s.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(c.received).as("no resource reaches a refused client").isEmpty();
    }
    assertThat(Status.fromThrowable(none.error).getDescription()).contains("no bearer token");
    assertThat(Status.fromThrowable(madeUp.error).getDescription())
        .contains("not issued to any pod");
    assertThat(Status.fromThrowable(borrowed.error).getDescription())
        .contains("product-v1-a.default")
        .contains("frontend-0.default");

    // the mesh is unchanged: v1 is still the one planned pod, and it connects with its token
    AdsTestClient real = connect(v1, v1Token);
    await(real::hasAll, 10_000);
    assertThat(addresses(frontend, V1)).containsExactly("127.0.1.3:8080");
    assertThat(json("/debug/registryz")).hasSize(2);
  }

  @Test
  void applyWithAnApplyTokenNeedsIt() throws Exception {
    writeRegistry(pod("product-v1-a", "127.0.1.3", "v1", true));
    String token = XdsAuthenticator.newToken();
    istiod =
        new Istiod(new DirectoryConfigSource(dir, 200), registry)
            .applyToken(token)
            .start("127.0.0.1", 0, 0);
    HttpResponse<String> none = post("/apply", serviceEntry(1));
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.body()).contains("apply token").contains("nothing was applied");
    HttpResponse<String> wrong =
        http.send(
            request("/apply")
                .header("Authorization", "Bearer " + XdsAuthenticator.newToken())
                .POST(HttpRequest.BodyPublishers.ofString(serviceEntry(1)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(json("/debug/configz").toString()).doesNotContain("se-1");
    HttpResponse<String> ok =
        http.send(
            request("/apply")
                .header("Authorization", "Bearer " + token)
                .POST(HttpRequest.BodyPublishers.ofString(serviceEntry(1)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    assertThat(json("/debug/configz").toString()).contains("se-1");
    // reading stays open: the debug endpoints change nothing
    assertThat(status("/debug/syncz")).isEqualTo(200);
  }

  @Test
  void aRestartedIstiodHasThePlannedProxiesTranslatedBeforeItIsReady() throws Exception {
    writeRegistry(
        pod("product-v1-a", "127.0.1.3", "v1", true), pod("product-v2-a", "127.0.1.5", "v2", true));
    start(true);
    assertThat(status("/ready")).isEqualTo(200);
    long before = istiod.xds().translations();
    assertThat(before).as("translated while warming up").isGreaterThanOrEqualTo(2);
    WorkloadInstance planned =
        istiod.registry().entries().stream()
            .map(WorkloadRegistry.Entry::workload)
            .filter(w -> w.podName().equals("product-v1-a"))
            .findFirst()
            .orElseThrow();
    AdsTestClient back = connect(planned);
    await(back::hasAll, 10_000);
    assertThat(back.endpoints(V2).getEndpoints(0).getLbEndpointsCount()).isEqualTo(1);
    assertThat(istiod.xds().translations())
        .as("a planned proxy that connects is served what was translated for it")
        .isEqualTo(before);
  }

  @Test
  void anInlineRegistryIsProbedForReadinessAsComposeHasNoSupervisor() throws Exception {
    try (java.net.ServerSocket app = new java.net.ServerSocket()) {
      app.bind(new java.net.InetSocketAddress("127.0.0.1", 0));
      String json =
          "{\"source\":\"compose plan\",\"pods\":[{\"name\":\"product-v1-a\","
              + "\"namespace\":\"default\",\"ip\":\"127.0.0.1\",\"workload\":\"product-service-v1\","
              + "\"labels\":{\"app\":\"product-service\",\"version\":\"v1\"},"
              + "\"ports\":[{\"containerPort\":8080}],\"sidecar\":true,"
              + "\"probe\":{\"tcpPort\":"
              + app.getLocalPort()
              + "}}]}";
      istiod = new Istiod(new DirectoryConfigSource(dir, 200), null, json).start("127.0.0.1", 0, 0);
      AdsTestClient frontend = connect(FRONTEND);
      await(frontend::hasAll, 10_000);
      assertThat(addresses(frontend, V1)).containsExactly("127.0.0.1:8080");
      app.close();
      await(() -> addresses(frontend, V1).isEmpty(), 10_000);
      assertThat(json("/debug/registryz").get(0).get("source").asText()).contains("compose plan");
    }
  }

  @Test
  void aDuplicateInASecondFileIsAnErrorAndTheServedVersionStays() throws Exception {
    start(false);
    AdsTestClient frontend = connect(FRONTEND);
    await(frontend::hasAll, 10_000);
    String vs = Files.readString(dir.resolve("product-virtualservice.yaml"));
    // sorts before the original: file order must not decide
    Files.writeString(
        dir.resolve("a-copy.yaml"),
        vs.replace("weight: 80", "weight: 10").replace("weight: 20", "weight: 90"));
    await(() -> configErrors().contains("SM0004"), 5_000);
    String errors = configErrors();
    assertThat(errors).contains("a-copy.yaml").contains("product-virtualservice.yaml");
    assertThat(IstiodIntegrationTest.weightsOf(frontend.route("8080"))).containsExactly(80, 20);
    assertThat(json("/debug/configz").toString()).contains("LAST_GOOD");

    Files.delete(dir.resolve("a-copy.yaml"));
    await(() -> !configErrors().contains("SM0004"), 5_000);
  }

  @Test
  void anEmptiedFileKeepsItsLastGoodResourcesUntilDeleted() throws Exception {
    start(false);
    AdsTestClient frontend = connect(FRONTEND);
    await(frontend::hasAll, 10_000);
    DirectoryConfigSource src = (DirectoryConfigSource) sourceOf();
    Files.writeString(dir.resolve("product-virtualservice.yaml"), "");
    await(() -> configErrors().contains("file is empty"), 5_000);
    assertThat(src.lastReadFiles()).as("only the changed file is read again").isEqualTo(1);
    assertThat(IstiodIntegrationTest.weightsOf(frontend.route("8080"))).containsExactly(80, 20);
    assertThat(json("/debug/configz").toString()).contains("LAST_GOOD");

    Files.delete(dir.resolve("product-virtualservice.yaml"));
    await(() -> IstiodIntegrationTest.weightsOf(routeOrNull(frontend)).isEmpty(), 5_000);
  }

  @Test
  void applyIsBoundedAndAtomicAndRefusesUnknownKinds() throws Exception {
    start(false);
    AdsTestClient frontend = connect(FRONTEND);
    await(frontend::hasAll, 10_000);
    List<String> before = files();

    StringBuilder big = new StringBuilder();
    for (int i = 0; big.length() <= Applier.MAX_REQUEST_BYTES; i++) {
      big.append(serviceEntry(i));
    }
    long t0 = System.nanoTime();
    HttpResponse<String> tooBig = post("/apply", big.toString());
    System.out.printf(
        "[figure] %d-byte apply refused in %d ms%n",
        big.length(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    assertThat(tooBig.statusCode()).isEqualTo(413);
    assertThat(tooBig.body()).contains("3 MiB");

    StringBuilder many = new StringBuilder();
    for (int i = 0; i <= Applier.MAX_OBJECTS_PER_APPLY; i++) {
      many.append(serviceEntry(i));
    }
    t0 = System.nanoTime();
    HttpResponse<String> tooMany = post("/apply", many.toString());
    System.out.printf(
        "[figure] %d-object apply refused in %d ms%n",
        Applier.MAX_OBJECTS_PER_APPLY + 1, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    assertThat(tooMany.statusCode()).isEqualTo(413);
    assertThat(tooMany.body()).contains("limit is 1000");

    HttpResponse<String> unknown =
        post(
            "/apply",
            serviceEntry(1)
                + "---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s}\n"
                + "spec: {}\n");
    assertThat(unknown.statusCode()).isEqualTo(400);
    assertThat(unknown.body()).contains("Sidecar");

    HttpResponse<String> late =
        post("/apply?deadline=" + (System.currentTimeMillis() - 1), serviceEntry(1));
    assertThat(late.statusCode()).isEqualTo(504);
    assertThat(files()).as("nothing written").isEqualTo(before);

    t0 = System.nanoTime();
    HttpResponse<String> ok = post("/apply", serviceEntry(1) + serviceEntry(2));
    System.out.printf(
        "[figure] apply of 2 ServiceEntries, pushed and ACKed, answered in %d ms: %s%n",
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), ok.body());
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    assertThat(ok.body()).contains("1 acknowledged");
    assertThat(files()).hasSize(before.size() + 1); // one file for the whole request
  }

  static String serviceEntry(int i) {
    return "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: se-"
        + i
        + "\nspec:\n  hosts: [host-"
        + i
        + ".example.internal]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n"
        + "  resolution: STATIC\n  endpoints: [{address: 127.0.9.1}]\n";
  }

  // ------------------------------------------------------------------ helpers

  private ConfigSource sourceOf() throws Exception {
    var f = Istiod.class.getDeclaredField("source");
    f.setAccessible(true);
    return (ConfigSource) f.get(istiod);
  }

  private static io.envoyproxy.envoy.config.route.v3.RouteConfiguration routeOrNull(
      AdsTestClient c) {
    try {
      return c.route("8080");
    } catch (IOException e) {
      return null;
    }
  }

  private List<String> files() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private String configErrors() {
    try {
      return json("/debug/configz").get("errors").toString();
    } catch (Exception e) {
      return "";
    }
  }

  private static List<String> addresses(AdsTestClient c, String cluster) {
    List<String> out = new ArrayList<>();
    try {
      ClusterLoadAssignment cla = c.endpoints(cluster);
      if (cla == null) {
        return out;
      }
      cla.getEndpointsList()
          .forEach(
              l ->
                  l.getLbEndpointsList()
                      .forEach(
                          e -> {
                            var a = e.getEndpoint().getAddress().getSocketAddress();
                            out.add(a.getAddress() + ":" + a.getPortValue());
                          }));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }

  private int status(String path) {
    try {
      return http.send(request(path).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private JsonNode json(String path) throws IOException, InterruptedException {
    return DebugServer.JSON.readTree(
        http.send(request(path).build(), HttpResponse.BodyHandlers.ofString()).body());
  }

  private HttpResponse<String> post(String path, String body)
      throws IOException, InterruptedException {
    return http.send(
        request(path).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + istiod.httpPort() + path))
        .timeout(Duration.ofSeconds(30));
  }

  static void await(BooleanSupplier cond, long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within " + timeoutMillis + " ms");
      }
      Thread.sleep(20);
    }
  }
}
