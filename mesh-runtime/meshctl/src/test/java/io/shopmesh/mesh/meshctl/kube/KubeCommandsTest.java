package io.shopmesh.mesh.meshctl.kube;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.istio.api.networking.v1alpha3.VirtualService;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.shopmesh.mesh.meshctl.Meshctl;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code meshctl status|metrics|logs|apply --kube} against fabric8's Kubernetes mock server (real
 * HTTP, CRUD mode), reached through a kubeconfig context as a user's would be. The proxies' and
 * istiod's ports are answered by the mock as the API server's pod and service proxy would.
 */
@EnableKubernetesMockClient(crud = true, https = false)
class KubeCommandsTest {

  static KubernetesClient client;
  static KubernetesMockServer server;
  private static final String POD = "product-service-v1-595d7499b9-w8949";
  private static Path kubeconfig;

  @BeforeAll
  static void cluster() throws Exception {
    kubeconfig = Files.createTempFile("kubeconfig", ".yaml");
    Files.writeString(
        kubeconfig,
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: mock
          cluster: {server: "%s"}
        users:
        - name: mock
          user: {token: secret}
        contexts:
        - name: mock
          context: {cluster: mock, user: mock, namespace: default}
        - name: elsewhere
          context: {cluster: nowhere, user: mock}
        current-context: elsewhere
        """
            .formatted(client.getMasterUrl().toString()));
    System.setProperty("kubeconfig", kubeconfig.toString());
    client
        .pods()
        .inNamespace("default")
        .resource(
            new PodBuilder()
                .withNewMetadata()
                .withName(POD)
                .withNamespace("default")
                .addToLabels("app", "product-service")
                .addToLabels("version", "v1")
                .addToLabels("pod-template-hash", "595d7499b9")
                .addNewOwnerReference()
                .withKind("ReplicaSet")
                .withName("product-service-v1-595d7499b9")
                .withApiVersion("apps/v1")
                .withUid("u1")
                .endOwnerReference()
                .endMetadata()
                .withNewSpec()
                .addNewContainer()
                .withName("istio-proxy")
                .endContainer()
                .addNewContainer()
                .withName("product-service")
                .endContainer()
                .endSpec()
                .withNewStatus()
                .withPodIP("10.244.0.15")
                .addNewCondition()
                .withType("Ready")
                .withStatus("True")
                .endCondition()
                .endStatus()
                .build())
        .create();
    client
        .pods()
        .inNamespace("payment-provider")
        .resource(
            new PodBuilder()
                .withNewMetadata()
                .withName("payment-provider-1")
                .withNamespace("payment-provider")
                .endMetadata()
                .withNewSpec()
                .addNewContainer()
                .withName("payment-provider")
                .endContainer()
                .endSpec()
                .build())
        .create();
    server
        .expect()
        .get()
        .withPath("/api/v1/namespaces/default/pods/" + POD + ":15090/proxy/stats/prometheus")
        .andReturn(
            200,
            "istio_requests_total{destination_version=\"v1\",response_code=\"200\"} 8\n"
                + "istio_requests_total{destination_version=\"v2\",response_code=\"200\"} 2\n")
        .always();
    server
        .expect()
        .get()
        .withPath("/api/v1/namespaces/istio-system/services/istiod:15014/proxy/debug/syncz")
        .andReturn(
            200,
            "[{\"pod\":\""
                + POD
                + "\",\"namespace\":\"default\",\"CDS\":{\"status\":\"SYNCED\"},"
                + "\"LDS\":{\"status\":\"SYNCED\"},\"EDS\":{\"status\":\"SYNCED\"},"
                + "\"RDS\":{\"status\":\"STALE\"}}]")
        .always();
  }

  @AfterAll
  static void cleanUp() throws Exception {
    System.clearProperty("kubeconfig");
    Files.deleteIfExists(kubeconfig);
  }

  private record Run(int exit, String out, String err) {}

  private static synchronized Run meshctl(String... args) {
    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
      var cl = Meshctl.commandLine();
      cl.setErr(new PrintWriter(System.err, true));
      int rc = cl.execute(args);
      return new Run(rc, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
  }

  @Test
  void statusListsTheMeshsPodsWithIstiodsSyncState() {
    Run r = meshctl("status", "--kube", "--context", "mock");
    assertThat(r.out())
        .contains(POD)
        .contains("product-service-v1")
        .contains("10.244.0.15")
        .contains("SYNCED")
        .contains("STALE")
        .doesNotContain("payment-provider-1");
    assertThat(r.exit()).as("a STALE proxy is not all in sync").isEqualTo(3);
  }

  @Test
  void metricsSumEveryProxysSamplesThroughTheApiServer() {
    Run r =
        meshctl(
            "metrics",
            "--kube",
            "--context",
            "mock",
            "istio_requests_total{response_code=\"200\"}",
            "--by",
            "destination_version");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).containsPattern("v1\\s+8").containsPattern("v2\\s+2");
  }

  @Test
  void applyCreatesThenConfiguresAndAnAdmissionDenialIsTheError() throws Exception {
    Path vs = Path.of("../../manifests/product-virtualservice.yaml");
    Run first = meshctl("apply", "--kube", "--context", "mock", "-f", vs.toString());
    assertThat(first.exit()).as(first.err()).isZero();
    assertThat(first.out()).contains("virtualservice.networking.istio.io/product-vs created");
    assertThat(
            client
                .resources(VirtualService.class)
                .inNamespace("default")
                .withName("product-vs")
                .get())
        .isNotNull();
    Run again = meshctl("apply", "--kube", "--context", "mock", "-f", vs.toString());
    assertThat(again.out()).contains("virtualservice.networking.istio.io/product-vs configured");

    // what the API server answers when istiod's validating webhook denies an object
    String denied =
        "admission webhook \"rev.validation.istio.io\" denied the request: configuration is"
            + " invalid: HTTP route cannot contain both route and redirect";
    server
        .expect()
        .get()
        .withPath("/apis/networking.istio.io/v1alpha3/namespaces/default/virtualservices/bad-vs")
        .andReturn(404, new StatusBuilder().withCode(404).withReason("NotFound").build())
        .once();
    server
        .expect()
        .post()
        .withPath("/apis/networking.istio.io/v1alpha3/namespaces/default/virtualservices")
        .andReturn(
            400,
            new StatusBuilder()
                .withStatus("Failure")
                .withCode(400)
                .withMessage(denied)
                .withReason("BadRequest")
                .build())
        .once();
    Path bad = Files.createTempFile("bad-vs", ".yaml");
    Files.writeString(
        bad,
        """
        apiVersion: networking.istio.io/v1alpha3
        kind: VirtualService
        metadata: {name: bad-vs}
        spec:
          hosts: [product-service]
          http:
          - redirect: {uri: /x}
            route:
            - destination: {host: product-service}
        """);
    Run rejected = meshctl("apply", "--kube", "--context", "mock", "-f", bad.toString());
    assertThat(rejected.exit()).isEqualTo(1);
    assertThat(rejected.err()).contains(denied).contains("the running config is unchanged");
    Files.delete(bad);
  }

  @Test
  void aPodIsFoundByPrefixOrNamespaceAndAnUnknownOneIsNamed() {
    try (KubeMesh km = KubeMesh.connect("mock")) {
      assertThat(km.pod("product-service-v1").name()).isEqualTo(POD);
      assertThat(km.pod(POD + ".default").workload()).isEqualTo("product-service-v1");
      assertThat(km.pods()).extracting(KubeMesh.MeshPod::name).isEqualTo(List.of(POD));
    }
    Run r = meshctl("logs", "--kube", "--context", "mock", "frontend");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("pod 'frontend' not found").contains(POD + ".default");
  }
}
