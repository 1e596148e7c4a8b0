package io.shopmesh.mesh.istiod.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.zjsonpatch.JsonPatch;
import io.shopmesh.mesh.istiod.inject.SidecarInjector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The webhooks as the API server calls them: AdmissionReview over HTTPS to a real {@link
 * WebhookServer}, verified against the CA istiod created (whose PEM becomes the caBundle); the
 * caBundle patch against fabric8's Kubernetes mock server in CRUD mode.
 */
@EnableKubernetesMockClient(crud = true)
class WebhookTest {

  static KubernetesClient client;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final YAMLMapper YAML = new YAMLMapper();
  private static WebhookCertificates certs;
  private static WebhookServer server;
  private static HttpClient http;

  @BeforeAll
  static void start() throws Exception {
    certs = WebhookCertificates.create(List.of("istiod.istio-system.svc", "localhost"));
    server =
        new WebhookServer(
                "127.0.0.1",
                0,
                certs,
                new AdmissionWebhooks(new SidecarInjector(SidecarInjector.Settings.defaults())))
            .start();
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", certs.ca());
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    http = HttpClient.newBuilder().sslContext(ctx).build();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static JsonNode review(String path, String operation, String objectYaml)
      throws Exception {
    JsonNode object = YAML.readTree(objectYaml);
    String uid = UUID.randomUUID().toString();
    var req = JSON.createObjectNode();
    req.put("apiVersion", "admission.k8s.io/v1");
    req.put("kind", "AdmissionReview");
    var r = req.putObject("request");
    r.put("uid", uid);
    r.put("operation", operation);
    r.put("namespace", "default");
    r.set("object", object);
    HttpResponse<String> resp =
        http.send(
            HttpRequest.newBuilder(URI.create("https://localhost:" + server.port() + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(req.toString()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
    JsonNode out = JSON.readTree(resp.body());
    assertThat(out.path("kind").asText()).isEqualTo("AdmissionReview");
    assertThat(out.path("response").path("uid").asText()).isEqualTo(uid);
    return out.path("response");
  }

  private static final String VS =
      """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: product-vs, namespace: default}
      spec:
        hosts: [product-service]
        http:
        - route:
          - destination: {host: product-service, subset: v1}
      """;

  @Test
  void aValidVirtualServiceIsAdmitted() throws Exception {
    JsonNode resp = review("/validate", "CREATE", VS);
    assertThat(resp.path("allowed").asBoolean()).isTrue();
  }

  @Test
  void anInvalidVirtualServiceIsRejectedWithIstiosMessage() throws Exception {
    String invalid = VS.replace("  - route:\n", "  - redirect: {uri: /elsewhere}\n    route:\n");
    assertThat(invalid).isNotEqualTo(VS);
    JsonNode resp = review("/validate", "CREATE", invalid);
    assertThat(resp.path("allowed").asBoolean()).isFalse();
    assertThat(resp.path("status").path("message").asText())
        .startsWith("configuration is invalid: ")
        .contains("HTTP route cannot contain both route and redirect");
    // a delete of the same object is never blocked
    assertThat(review("/validate", "DELETE", invalid).path("allowed").asBoolean()).isTrue();
  }

  @Test
  void otherKindsPassValidation() throws Exception {
    JsonNode resp =
        review("/validate", "CREATE", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
    assertThat(resp.path("allowed").asBoolean()).isTrue();
  }

  private static final String POD =
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: product-service-v1-595d7499b9-w8949
        generateName: product-service-v1-595d7499b9-
        labels: {app: product-service, version: v1, pod-template-hash: 595d7499b9}
        ownerReferences:
        - {apiVersion: apps/v1, kind: ReplicaSet, name: product-service-v1-595d7499b9, uid: u1, controller: true}
      spec:
        containers:
        - name: product-service
          image: example/product-service:v1
          ports: [{containerPort: 8080}]
      """;

  @Test
  void aPodGetsTheSidecarAsAJsonPatch() throws Exception {
    JsonNode resp = review("/inject", "CREATE", POD);
    assertThat(resp.path("allowed").asBoolean()).isTrue();
    assertThat(resp.path("patchType").asText()).isEqualTo("JSONPatch");
    JsonNode patch = JSON.readTree(Base64.getDecoder().decode(resp.path("patch").asText()));
    JsonNode pod = JsonPatch.apply(patch, YAML.readTree(POD));

    JsonNode containers = pod.path("spec").path("containers");
    assertThat(containers.get(0).path("name").asText()).isEqualTo("istio-proxy");
    assertThat(containers.get(1).path("name").asText()).isEqualTo("product-service");
    assertThat(pod.path("spec").path("initContainers").get(0).path("name").asText())
        .isEqualTo("istio-init");
    JsonNode env = containers.get(0).path("env");
    assertThat(envValue(env, "ISTIO_META_WORKLOAD_NAME")).isEqualTo("product-service-v1");
    assertThat(envValue(env, "ISTIO_META_INTERCEPTION_MODE")).isEqualTo("REDIRECT");
    assertThat(envValue(env, "ISTIO_META_POD_PORTS_LIST")).isEqualTo("8080");
    assertThat(envValue(env, "ISTIO_META_LABELS"))
        .isEqualTo("app=product-service,version=v1,pod-template-hash=595d7499b9");
    assertThat(fieldRef(env, "INSTANCE_IP")).isEqualTo("status.podIP");
    assertThat(fieldRef(env, "POD_NAME")).isEqualTo("metadata.name");
    assertThat(pod.path("metadata").path("labels").path("security.istio.io/tlsMode").asText())
        .isEqualTo("istio");
    assertThat(pod.path("metadata").path("annotations").path(SidecarInjector.STATUS).asText())
        .contains("\"containers\":[\"istio-proxy\"]");
  }

  @Test
  void aPodThatOptsOutIsLeftAlone() throws Exception {
    String optOut =
        POD.replace(
            "  labels: {", "  annotations: {sidecar.istio.io/inject: \"false\"}\n  labels: {");
    JsonNode resp = review("/inject", "CREATE", optOut);
    assertThat(resp.path("allowed").asBoolean()).isTrue();
    assertThat(resp.has("patch")).isFalse();
  }

  @Test
  void aMalformedReviewIsA400AndAnUntrustedClientIsRefused() throws Exception {
    HttpResponse<String> resp =
        http.send(
            HttpRequest.newBuilder(URI.create("https://localhost:" + server.port() + "/validate"))
                .POST(HttpRequest.BodyPublishers.ofString("{not json"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(resp.statusCode()).isEqualTo(400);
    HttpClient untrusting = HttpClient.newHttpClient();
    try {
      untrusting.send(
          HttpRequest.newBuilder(URI.create("https://localhost:" + server.port() + "/validate"))
              .POST(HttpRequest.BodyPublishers.ofString("{}"))
              .build(),
          HttpResponse.BodyHandlers.ofString());
      throw new AssertionError("a client without the CA must not complete the handshake");
    } catch (SSLHandshakeException expected) {
      assertThat(expected).isNotNull();
    }
  }

  @Test
  void theCaBundleIsPatchedIntoBothWebhookConfigurations() {
    client
        .admissionRegistration()
        .v1()
        .validatingWebhookConfigurations()
        .resource(
            new ValidatingWebhookConfigurationBuilder()
                .withNewMetadata()
                .withName(CaBundlePatcher.VALIDATOR)
                .endMetadata()
                .addNewWebhook()
                .withName("rev.validation.istio.io")
                .withFailurePolicy("Ignore")
                .withNewClientConfig()
                .withNewService()
                .withName("istiod")
                .withNamespace("istio-system")
                .withPath("/validate")
                .endService()
                .endClientConfig()
                .endWebhook()
                .build())
        .create();
    client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .resource(
            new MutatingWebhookConfigurationBuilder()
                .withNewMetadata()
                .withName(CaBundlePatcher.INJECTOR)
                .endMetadata()
                .addNewWebhook()
                .withName("namespace.sidecar-injector.istio.io")
                .withNewClientConfig()
                .withNewService()
                .withName("istiod")
                .withNamespace("istio-system")
                .withPath("/inject")
                .endService()
                .endClientConfig()
                .endWebhook()
                .build())
        .create();
    CaBundlePatcher patcher = new CaBundlePatcher(client, certs.caPem());
    assertThat(patcher.patch()).isEqualTo(2);
    assertThat(patcher.patch()).isZero();
    ValidatingWebhookConfiguration v =
        client
            .admissionRegistration()
            .v1()
            .validatingWebhookConfigurations()
            .withName(CaBundlePatcher.VALIDATOR)
            .get();
    String bundle =
        new String(
            Base64.getDecoder().decode(v.getWebhooks().get(0).getClientConfig().getCaBundle()),
            StandardCharsets.UTF_8);
    assertThat(bundle).isEqualTo(certs.caPem()).startsWith("-----BEGIN CERTIFICATE-----");
    assertThat(v.getWebhooks().get(0).getFailurePolicy()).isEqualTo("Fail");
    assertThat(
            client
                .admissionRegistration()
                .v1()
                .mutatingWebhookConfigurations()
                .withName(CaBundlePatcher.INJECTOR)
                .get()
                .getWebhooks()
                .get(0)
                .getClientConfig()
                .getCaBundle())
        .isEqualTo(v.getWebhooks().get(0).getClientConfig().getCaBundle());
  }

  private static String envValue(JsonNode env, String name) {
    for (JsonNode e : env) {
      if (e.path("name").asText().equals(name)) {
        return e.path("value").asText();
      }
    }
    return null;
  }

  private static String fieldRef(JsonNode env, String name) {
    for (JsonNode e : env) {
      if (e.path("name").asText().equals(name)) {
        return e.path("valueFrom").path("fieldRef").path("fieldPath").asText();
      }
    }
    return null;
  }
}
