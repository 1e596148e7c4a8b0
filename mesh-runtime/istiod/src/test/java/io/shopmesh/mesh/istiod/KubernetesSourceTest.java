package io.shopmesh.mesh.istiod;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceStatusBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.testing.AdsTestClient;
import io.shopmesh.mesh.testing.Manifests;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.ProxyNode;
import io.shopmesh.mesh.xds.WorkloadInstance;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * istiod with {@code --config-source kubernetes}: config and registry from fabric8's Kubernetes
 * mock server in CRUD mode (real HTTP, real watch streams, resourceVersions; Istio's CRDs
 * registered), reached through a TCP relay the test can cut. A real istiod on ephemeral ports and a
 * real ADS client connected as the frontend sidecar. The mock server stores each object in the
 * version it was written in (it does not convert between versions as an API server does), so the
 * test writes Istio objects in v1, the version istiod watches.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KubernetesSourceTest {

  static final String NS = "default";
  static final String V1 = "outbound|8080|v1|product-service.default.svc.cluster.local";
  static final String V2 = "outbound|8080|v2|product-service.default.svc.cluster.local";
  static final ResourceDefinitionContext VS = istio("VirtualService", "virtualservices");
  static final ResourceDefinitionContext DR = istio("DestinationRule", "destinationrules");
  static final ResourceDefinitionContext SE = istio("ServiceEntry", "serviceentries");
  static final ResourceDefinitionContext GW = istio("Gateway", "gateways");

  static final WorkloadInstance FRONTEND =
      new WorkloadInstance(
          "frontend-7c9d8-x2x4m",
          NS,
          "10.244.0.11",
          Map.of("app", "frontend", "version", "v1"),
          "frontend",
          List.of(new PodPort("http", 80, "TCP")),
          true);

  KubernetesMockServer server;
  KubernetesClient api; // the test's own client, straight to the mock server
  KubernetesClient istiodClient; // istiod's, through the relay
  TcpRelay relay;
  KubernetesConfigSource source;
  Istiod istiod;
  AdsTestClient frontend;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  static ResourceDefinitionContext istio(String kind, String plural) {
    return new ResourceDefinitionContext.Builder()
        .withGroup("networking.istio.io")
        .withVersion("v1")
        .withKind(kind)
        .withPlural(plural)
        .withNamespaced(true)
        .build();
  }

  @BeforeAll
  void start() throws IOException {
    server =
        new KubernetesMockServer(
            new Context(),
            new MockWebServer(),
            new HashMap<>(),
            new KubernetesCrudDispatcher(),
            false);
    server.init();
    api = server.createClient();
    for (Map.Entry<String, String> k : KubernetesConfigSource.ISTIO_KINDS.entrySet()) {
      api.apiextensions()
          .v1()
          .customResourceDefinitions()
          .resource(crd(k.getKey(), k.getValue(), List.of("v1alpha3", "v1beta1", "v1")))
          .create();
    }
    services(Manifests.read("product-service.yaml"));
    services(Manifests.read("frontend-service.yaml"));
    istioCreate(DR, Manifests.productDestinationRule());
    istioCreate(VS, Manifests.productVirtualService());
    create(pod("frontend-7c9d8-x2x4m", "10.244.0.11", "frontend", "v1", 80));
    create(pod("product-service-v1-5d8c7-q8x2m", "10.244.0.12", "product-service", "v1", 8080));
    create(slice("frontend", "frontend-7c9d8-x2x4m", "10.244.0.11", 80, true));
    create(slice("product-service", "product-service-v1-5d8c7-q8x2m", "10.244.0.12", 8080, true));

    relay = new TcpRelay(server.getPort());
    Config c =
        new ConfigBuilder(api.getConfiguration())
            .withMasterUrl("http://127.0.0.1:" + relay.port())
            .withWatchReconnectInterval(100)
            .withRequestRetryBackoffInterval(100)
            .build();
    istiodClient = new KubernetesClientBuilder().withConfig(c).build();
    // resync every second: a resync hands every object again, which must push nothing
    istiod =
        new Istiod(
                source = new KubernetesConfigSource(istiodClient, null, 1000),
                "the Kubernetes API (not listed yet)",
                KubernetesRegistry.factory(istiodClient, null, 1000))
            .start("127.0.0.1", 0, 0);
  }

  @AfterAll
  void stop() {
    if (frontend != null) {
      frontend.close();
    }
    if (istiod != null) {
      istiod.close();
    }
    if (istiodClient != null) {
      istiodClient.close();
    }
    if (relay != null) {
      relay.close();
    }
    if (api != null) {
      api.close();
    }
    if (server != null) {
      server.destroy();
    }
  }

  @Test
  @Order(1)
  void theApiServersObjectsReachTheSidecar() throws Exception {
    frontend = new AdsTestClient(istiod.xdsPort(), ProxyNode.sidecar(FRONTEND).toNode());
    await(frontend::hasAll, 10_000);
    assertThat(IstiodIntegrationTest.weightsOf(frontend.route("8080"))).containsExactly(80, 20);
    assertThat(addresses(V1)).containsExactly("10.244.0.12:8080");
    assertThat(addresses(V2)).isEmpty();
    LbEndpoint ep = frontend.endpoints(V1).getEndpoints(0).getLbEndpoints(0);
    assertThat(
            ep.getMetadata()
                .getFilterMetadataOrThrow("istio")
                .getFieldsOrThrow("workload")
                .getStringValue())
        .isEqualTo("product-service-v1;default;product-service;v1;Kubernetes");
    assertThat(
            ep.getMetadata()
                .getFilterMetadataOrThrow("envoy.transport_socket_match")
                .getFieldsOrThrow("tlsMode")
                .getStringValue())
        .isEqualTo("istio");
    await(() -> synced("RDS"), 5_000);

    JsonNode registry = get("/debug/registryz");
    assertThat(registry).hasSize(2);
    assertThat(registry.get(1).get("name").asText()).isEqualTo("product-service-v1-5d8c7-q8x2m");
    assertThat(registry.get(1).get("workload").asText()).isEqualTo("product-service-v1");
    assertThat(registry.get(1).get("serviceAccount").asText()).isEqualTo("product-service");
    assertThat(registry.get(1).get("source").asText()).contains("Kubernetes API");
    boolean found = false;
    for (JsonNode r : get("/debug/configz").get("resources")) {
      if (r.get("name").asText().equals("product-vs")) {
        found = true;
        assertThat(r.get("source").asText())
            .isEqualTo("kubernetes:/VirtualService/default/product-vs");
      }
    }
    assertThat(found).as("product-vs served").isTrue();

    // objects are applied to the API server, not to this istiod
    HttpResponse<String> apply =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + istiod.httpPort() + "/apply"))
                .timeout(Duration.ofSeconds(5))
                .POST(HttpRequest.BodyPublishers.ofString(Manifests.productVirtualService()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(apply.statusCode()).isEqualTo(405);
    assertThat(apply.body()).contains("kubectl apply");
  }

  @Test
  @Order(2)
  void aResyncPushesNothing() throws Exception {
    long pushes = totalPushes();
    frontend.received.clear();
    Thread.sleep(2_500); // two resyncs of every informer
    assertThat(frontend.received).isEmpty();
    assertThat(totalPushes()).isEqualTo(pushes);
  }

  @Test
  @Order(3)
  void aStatusUpdateIsReadButChangesNothing() throws Exception {
    long pushes = totalPushes();
    long version = istiod.store().version();
    long loads = source.loads();
    api.services()
        .inNamespace(NS)
        .withName("product-service")
        .editStatus(
            s -> {
              s.setStatus(
                  new ServiceStatusBuilder()
                      .withNewLoadBalancer()
                      .addNewIngress()
                      .withIp("192.0.2.7")
                      .endIngress()
                      .endLoadBalancer()
                      .build());
              return s;
            });
    await(() -> source.loads() > loads, 5_000);
    assertThat(source.lastValidated()).as("the Service's new resourceVersion is read").isEqualTo(1);
    Thread.sleep(300);
    assertThat(istiod.store().version()).isEqualTo(version);
    assertThat(totalPushes()).isEqualTo(pushes);
  }

  @Test
  @Order(4)
  void anUpdatedVirtualServiceReachesRdsOnly() throws Exception {
    frontend.received.clear();
    String lds = frontend.latest.get("LDS").version();
    String cds = frontend.latest.get("CDS").version();
    long t0 = System.nanoTime();
    istioEdit(VS, "product-vs", r -> withWeights(r, 50, 50));
    AdsTestClient.Received rds = frontend.next("RDS", 5_000);
    assertThat(rds).as("new RDS").isNotNull();
    await(() -> synced("RDS") && acked("RDS", rds.version()), 5_000);
    long acked = System.nanoTime();
    figure("update", rds.nanos() - t0, acked - t0);
    assertThat(IstiodIntegrationTest.weightsOf(frontend.route("8080"))).containsExactly(50, 50);
    Thread.sleep(300);
    assertThat(frontend.latest.get("LDS").version()).isEqualTo(lds);
    assertThat(frontend.latest.get("CDS").version()).isEqualTo(cds);
  }

  @Test
  @Order(5)
  void aCreatedThenDeletedVirtualServiceReachesRds() throws Exception {
    frontend.received.clear();
    long t0 = System.nanoTime();
    istioCreate(
        VS,
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: frontend-timeout
          namespace: default
        spec:
          hosts: [frontend]
          http:
          - route:
            - destination: {host: frontend}
            timeout: 3s
        """);
    AdsTestClient.Received rds = frontend.next("RDS", 5_000);
    assertThat(rds).as("RDS after create").isNotNull();
    await(() -> acked("RDS", rds.version()), 5_000);
    figure("create", rds.nanos() - t0, System.nanoTime() - t0);
    assertThat(frontendRoute().getRoute().getTimeout().getSeconds()).isEqualTo(3);

    frontend.received.clear();
    long t1 = System.nanoTime();
    api.genericKubernetesResources(VS).inNamespace(NS).withName("frontend-timeout").delete();
    AdsTestClient.Received gone = frontend.next("RDS", 5_000);
    assertThat(gone).as("RDS after delete").isNotNull();
    await(() -> acked("RDS", gone.version()), 5_000);
    figure("delete", gone.nanos() - t1, System.nanoTime() - t1);
    assertThat(frontendRoute().getName()).isEqualTo("default");
  }

  @Test
  @Order(6)
  void aServiceEntryAndAGatewayAreReadToo() throws Exception {
    frontend.received.clear();
    istioCreate(SE, Manifests.read("payment-serviceentry.yaml"));
    AdsTestClient.Received cds = frontend.next("CDS", 5_000);
    assertThat(cds).as("CDS after the ServiceEntry").isNotNull();
    List<String> clusters = new ArrayList<>();
    for (var a : cds.resources()) {
      clusters.add(a.unpack(Cluster.class).getName());
    }
    assertThat(clusters).contains("outbound|80||api.payment-provider.com");
    await(() -> synced("CDS") && synced("LDS") && synced("RDS") && synced("EDS"), 5_000);
    istioCreate(GW, Manifests.read("gateway.yaml"));
    await(
        () -> {
          for (JsonNode r : getUnchecked("/debug/configz").get("resources")) {
            if (r.get("kind").asText().equals("Gateway")) {
              return r.get("source").asText().startsWith("kubernetes:/Gateway/default/");
            }
          }
          return false;
        },
        5_000);
  }

  @Test
  @Order(7)
  void aPodAndItsEndpointSliceReachEds() throws Exception {
    frontend.received.clear();
    long t0 = System.nanoTime();
    create(pod("product-service-v2-6b7f4-m9k2p", "10.244.0.13", "product-service", "v2", 8080));
    create(
        slice("product-service-v2", "product-service-v2-6b7f4-m9k2p", "10.244.0.13", 8080, false));
    Thread.sleep(500);
    assertThat(addresses(V2)).as("not ready in its EndpointSlice: no endpoint").isEmpty();
    JsonNode registry = get("/debug/registryz");
    assertThat(registry).hasSize(3);

    long t1 = System.nanoTime();
    api.discovery()
        .v1()
        .endpointSlices()
        .inNamespace(NS)
        .withName("product-service-v2-abcde")
        .edit(
            s -> {
              s.getEndpoints().get(0).getConditions().setReady(true);
              return s;
            });
    AdsTestClient.Received eds = frontend.next("EDS", 5_000);
    assertThat(eds).as("EDS after the slice became ready").isNotNull();
    await(() -> addresses(V2).equals(List.of("10.244.0.13:8080")), 5_000);
    await(() -> acked("EDS", frontend.latest.get("EDS").version()), 5_000);
    figure("EndpointSlice ready", eds.nanos() - t1, System.nanoTime() - t1);
    assertThat(t1).isGreaterThan(t0);

    // a proxy's own claims never add an endpoint: the registry is the API's
    WorkloadInstance stranger =
        new WorkloadInstance(
            "product-service-v2-fake",
            NS,
            "10.244.9.9",
            Map.of("app", "product-service", "version", "v2"),
            "product-service-v2",
            List.of(new PodPort(null, 8080, "TCP")),
            true);
    try (AdsTestClient s =
        new AdsTestClient(istiod.xdsPort(), ProxyNode.sidecar(stranger).toNode())) {
      await(s::hasAll, 5_000);
      Thread.sleep(300);
      assertThat(addresses(V2)).containsExactly("10.244.0.13:8080");
    }

    // the pod deleted: its endpoint goes
    api.pods().inNamespace(NS).withName("product-service-v2-6b7f4-m9k2p").delete();
    await(() -> addresses(V2).isEmpty(), 5_000);
  }

  @Test
  @Order(8)
  void anInvalidVirtualServiceIsSkippedAndTheLastGoodServed() throws Exception {
    frontend.received.clear();
    long rejected = istiod.store().rejectedTotal();
    long pushes = totalPushes();
    istioEdit(
        VS,
        "product-vs",
        r -> {
          httpRoute(r).put("timeout", "soon");
          return r;
        });
    await(() -> istiod.store().rejectedTotal() > rejected, 5_000);
    Thread.sleep(300);
    assertThat(frontend.received).as("nothing pushed").isEmpty();
    assertThat(totalPushes()).isEqualTo(pushes);
    assertThat(IstiodIntegrationTest.weightsOf(frontend.route("8080"))).containsExactly(50, 50);
    JsonNode configz = get("/debug/configz");
    assertThat(configz.get("errors").get(0).asText())
        .contains("VirtualService default/product-vs")
        .contains("kubernetes:/VirtualService/default/product-vs")
        .contains("timeout");
    for (JsonNode r : configz.get("resources")) {
      if (r.get("name").asText().equals("product-vs")) {
        assertThat(r.get("status").asText()).startsWith("LAST_GOOD");
      }
    }

    // fixed: served again
    istioEdit(
        VS,
        "product-vs",
        r -> {
          httpRoute(r).put("timeout", "5s");
          return withWeights(r, 60, 40);
        });
    await(() -> IstiodIntegrationTest.weightsOf(route8080()).equals(List.of(60, 40)), 5_000);
  }

  @Test
  @Order(9)
  void aDroppedWatchResumesWithoutARepushStorm() throws Exception {
    await(() -> synced("RDS") && synced("EDS"), 5_000);
    frontend.received.clear();
    long pushes = totalPushes();
    // every connection of istiod to the API server is cut, and new ones refused for a while
    relay.dropAll(true);
    istioEdit(VS, "product-vs", r -> withWeights(r, 70, 30));
    Thread.sleep(500);
    assertThat(frontend.received).as("nothing seen while the watch is down").isEmpty();
    long t0 = System.nanoTime();
    relay.accept(true);
    AdsTestClient.Received rds = frontend.next("RDS", 10_000);
    assertThat(rds).as("RDS after the watch resumed").isNotNull();
    System.out.println(
        "[figure] watch resumed -> RDS received: "
            + TimeUnit.NANOSECONDS.toMillis(rds.nanos() - t0)
            + " ms");
    assertThat(IstiodIntegrationTest.weightsOf(frontend.route("8080"))).containsExactly(70, 30);
    Thread.sleep(1_500); // informers relisting or resyncing would show up by now
    List<String> types = new ArrayList<>();
    frontend.received.forEach(r -> types.add(r.type()));
    assertThat(types).as("only the changed routes are pushed, once").isEmpty();
    assertThat(totalPushes() - pushes).isEqualTo(1);
  }

  @Test
  @Order(10)
  void theWatchedVersionIsTheHighestServed() {
    api.apiextensions()
        .v1()
        .customResourceDefinitions()
        .resource(crd("Sidecar", "sidecars", List.of("v1alpha3", "v1beta1")))
        .create();
    KubernetesConfigSource s = new KubernetesConfigSource(api, null, 0);
    assertThat(s.servedVersion("sidecars")).isEqualTo("v1beta1");
    assertThat(s.servedVersion("virtualservices")).isEqualTo("v1");
    assertThat(s.servedVersion("nosuchkinds")).isEqualTo("v1");
  }

  @Test
  @Order(11)
  void aNamespacedSourceSeesOnlyItsNamespace() {
    try (KubernetesConfigSource all = new KubernetesConfigSource(api, null, 0);
        KubernetesConfigSource other = new KubernetesConfigSource(api, "other", 0)) {
      assertThat(all.load().config().virtualServices())
          .extracting(l -> l.namespace() + "/" + l.name())
          .containsExactly("default/product-vs");
      assertThat(all.load().config().services()).hasSize(2);
      assertThat(other.load().config().virtualServices()).isEmpty();
      assertThat(other.load().config().services()).isEmpty();
    }
  }

  @Test
  @Order(12)
  void anApiServerNotReachableYetDelaysTheFirstLoad() throws Exception {
    try (TcpRelay closed = new TcpRelay(server.getPort())) {
      closed.accept(false);
      Config c =
          new ConfigBuilder(api.getConfiguration())
              .withMasterUrl("http://127.0.0.1:" + closed.port())
              .withWatchReconnectInterval(100)
              .withRequestRetryBackoffInterval(100)
              .withRequestRetryBackoffLimit(1)
              .build();
      try (KubernetesClient client = new KubernetesClientBuilder().withConfig(c).build();
          KubernetesConfigSource s = new KubernetesConfigSource(client, null, 0)) {
        CompletableFuture<LoadResult> first = CompletableFuture.supplyAsync(s::load);
        Thread.sleep(1_500);
        assertThat(first).as("waits for the lists").isNotDone();
        closed.accept(true);
        LoadResult r = first.get(15, TimeUnit.SECONDS);
        assertThat(r.config().virtualServices())
            .extracting(l -> l.name())
            .containsExactly("product-vs");
      }
    }
  }

  // ------------------------------------------------------------------ helpers

  private static void figure(String what, long receivedNanos, long ackedNanos) {
    System.out.println(
        "[figure] VirtualService/Pod change on the mock API server -> ADS client ("
            + what
            + "): received "
            + TimeUnit.NANOSECONDS.toMillis(receivedNanos)
            + " ms, ACK seen by istiod "
            + TimeUnit.NANOSECONDS.toMillis(ackedNanos)
            + " ms (debounce "
            + Istiod.DEBOUNCE_AFTER_MS
            + " ms)");
  }

  static CustomResourceDefinition crd(String kind, String plural, List<String> versions) {
    CustomResourceDefinitionBuilder b =
        new CustomResourceDefinitionBuilder()
            .withNewMetadata()
            .withName(plural + ".networking.istio.io")
            .endMetadata()
            .withNewSpec()
            .withGroup("networking.istio.io")
            .withScope("Namespaced")
            .withNewNames()
            .withKind(kind)
            .withPlural(plural)
            .withSingular(kind.toLowerCase())
            .withListKind(kind + "List")
            .endNames()
            .endSpec();
    for (String v : versions) {
      b.editSpec()
          .addNewVersion()
          .withName(v)
          .withServed(true)
          .withStorage(v.equals(versions.get(versions.size() - 1)))
          .withNewSchema()
          .withNewOpenAPIV3Schema()
          .withType("object")
          .withXKubernetesPreserveUnknownFields(true)
          .endOpenAPIV3Schema()
          .endSchema()
          .endVersion()
          .endSpec();
    }
    return b.build();
  }

  static Pod pod(String name, String ip, String app, String version, int port) {
    String hash = name.split("-")[name.split("-").length - 2];
    String rs = name.substring(0, name.lastIndexOf('-'));
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(NS)
        .addToLabels("app", app)
        .addToLabels("version", version)
        .addToLabels("pod-template-hash", hash)
        .addToLabels(KubernetesRegistry.TLS_MODE_LABEL, "istio")
        .addNewOwnerReference()
        .withApiVersion("apps/v1")
        .withKind("ReplicaSet")
        .withName(rs)
        .withUid("uid-" + rs)
        .withController(true)
        .endOwnerReference()
        .endMetadata()
        .withNewSpec()
        .withServiceAccountName(app)
        .addNewContainer()
        .withName(app)
        .withImage("shopmesh/" + app)
        .addNewPort()
        .withName("http")
        .withContainerPort(port)
        .withProtocol("TCP")
        .endPort()
        .endContainer()
        .addNewContainer()
        .withName(KubernetesRegistry.PROXY_CONTAINER)
        .withImage("shopmesh/proxy")
        .addNewPort()
        .withName("http-envoy-prom")
        .withContainerPort(15090)
        .endPort()
        .endContainer()
        .endSpec()
        .withNewStatus()
        .withPhase("Running")
        .withPodIP(ip)
        .endStatus()
        .build();
  }

  static EndpointSlice slice(String service, String pod, String ip, int port, boolean ready) {
    String svc = service.replace("-v2", "");
    return new EndpointSliceBuilder()
        .withNewMetadata()
        .withName(service + "-abcde")
        .withNamespace(NS)
        .addToLabels("kubernetes.io/service-name", svc)
        .endMetadata()
        .withAddressType("IPv4")
        .addNewEndpoint()
        .withAddresses(ip)
        .withNewConditions()
        .withReady(ready)
        .endConditions()
        .withNewTargetRef()
        .withKind("Pod")
        .withName(pod)
        .withNamespace(NS)
        .endTargetRef()
        .endEndpoint()
        .addNewPort()
        .withName("http")
        .withPort(port)
        .withProtocol("TCP")
        .endPort()
        .build();
  }

  /** The Services of a manifest file (its Deployments are what the test's pods stand for). */
  private void services(String yaml) {
    for (HasMetadata o :
        api.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items()) {
      if (o instanceof Service) {
        create(o);
      }
    }
  }

  private void create(HasMetadata o) {
    o.getMetadata().setNamespace(NS);
    api.resource(o).create();
  }

  private void istioCreate(ResourceDefinitionContext ctx, String yaml) {
    GenericKubernetesResource r =
        api.getKubernetesSerialization().unmarshal(yaml, GenericKubernetesResource.class);
    r.setApiVersion("networking.istio.io/v1");
    r.getMetadata().setNamespace(NS);
    ops(ctx).resource(r).create();
  }

  private void istioEdit(
      ResourceDefinitionContext ctx, String name, UnaryOperator<GenericKubernetesResource> f) {
    ops(ctx).withName(name).edit(f);
  }

  private NonNamespaceOperation<
          GenericKubernetesResource,
          GenericKubernetesResourceList,
          Resource<GenericKubernetesResource>>
      ops(ResourceDefinitionContext ctx) {
    return api.genericKubernetesResources(ctx).inNamespace(NS);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> httpRoute(GenericKubernetesResource r) {
    Map<String, Object> spec = (Map<String, Object>) r.getAdditionalProperties().get("spec");
    return ((List<Map<String, Object>>) spec.get("http")).get(0);
  }

  @SuppressWarnings("unchecked")
  private static GenericKubernetesResource withWeights(GenericKubernetesResource r, int a, int b) {
    List<Map<String, Object>> route = (List<Map<String, Object>>) httpRoute(r).get("route");
    route.get(0).put("weight", a);
    route.get(1).put("weight", b);
    return r;
  }

  private RouteConfiguration route8080() {
    try {
      return frontend.route("8080");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private Route frontendRoute() throws IOException {
    RouteConfiguration rc = frontend.route("80");
    for (VirtualHost vh : rc.getVirtualHostsList()) {
      if (vh.getName().startsWith("frontend.")) {
        return vh.getRoutes(0);
      }
    }
    throw new AssertionError("no frontend virtual host in route config 80");
  }

  private List<String> addresses(String cluster) {
    try {
      ClusterLoadAssignment cla = frontend.endpoints(cluster);
      List<String> out = new ArrayList<>();
      if (cla == null) {
        return out;
      }
      cla.getEndpointsList()
          .forEach(
              l ->
                  l.getLbEndpointsList()
                      .forEach(
                          e ->
                              out.add(
                                  e.getEndpoint().getAddress().getSocketAddress().getAddress()
                                      + ":"
                                      + e.getEndpoint()
                                          .getAddress()
                                          .getSocketAddress()
                                          .getPortValue())));
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private boolean synced(String type) {
    return state(type, "status").equals("SYNCED");
  }

  private boolean acked(String type, String version) {
    return state(type, "version_acked").equals(version);
  }

  private String state(String type, String field) {
    try {
      for (JsonNode p : get("/debug/syncz")) {
        if (p.get("pod").asText().equals(FRONTEND.podName())) {
          return p.get(type).path(field).asText();
        }
      }
    } catch (IOException | InterruptedException e) {
      return "";
    }
    return "";
  }

  private long totalPushes() {
    return List.of("cds", "eds", "lds", "rds").stream()
        .mapToLong(t -> istiod.metrics().pushes(t))
        .sum();
  }

  private JsonNode getUnchecked(String path) {
    try {
      return get(path);
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  private JsonNode get(String path) throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + istiod.httpPort() + path))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return DebugServer.JSON.readTree(r.body());
  }

  private static void await(BooleanSupplier cond, long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within " + timeoutMillis + " ms");
      }
      Thread.sleep(10);
    }
  }
}
