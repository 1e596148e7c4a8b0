package io.shopmesh.mesh.meshctl.kind;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.shopmesh.mesh.istiod.inject.SidecarInjector;
import io.shopmesh.mesh.istiod.webhook.CaBundlePatcher;
import io.shopmesh.mesh.meshctl.KubeInjectCommand;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every YAML under deploy/kind read strictly with fabric8's model (a field the model does not know
 * is an error, as {@code kubectl apply --validate=strict} would report it), and the pieces that
 * must agree with each other and with the code checked: the webhook paths and port istiod serves,
 * the gateway's labels and ports, the images deploy/docker/build-images.sh builds.
 */
class KindManifestsTest {

  private static final Path KIND = Path.of("../../deploy/kind");

  @SuppressWarnings("unchecked")
  private static List<HasMetadata> read(String file) throws Exception {
    return strict(file, Files.readString(KIND.resolve(file)));
  }

  @SuppressWarnings("unchecked")
  private static List<HasMetadata> strict(String file, String yaml) throws Exception {
    Object o = Serialization.unmarshal(yaml);
    List<HasMetadata> objs =
        o instanceof List<?> l ? (List<HasMetadata>) l : List.of((HasMetadata) o);
    for (HasMetadata obj : objs) {
      assertThat(obj)
          .as("%s: %s is not a kind fabric8 knows", file, obj.getKind())
          .isNotInstanceOf(GenericKubernetesResource.class);
      List<String> unknown = new ArrayList<>();
      unknownFields(
          obj, obj.getKind() + "/" + obj.getMetadata().getName(), unknown, new IdentityHashMap<>());
      assertThat(unknown).as("%s: fields the Kubernetes API does not define", file).isEmpty();
    }
    return objs;
  }

  /** fabric8 keeps unknown fields in additionalProperties; any found there is a typo. */
  private static void unknownFields(
      Object o, String path, List<String> out, IdentityHashMap<Object, Boolean> seen)
      throws Exception {
    if (o == null || seen.containsKey(o)) {
      return;
    }
    if (o instanceof List<?> l) {
      for (int i = 0; i < l.size(); i++) {
        unknownFields(l.get(i), path + "[" + i + "]", out, seen);
      }
      return;
    }
    if (o instanceof Map<?, ?> m) {
      for (Map.Entry<?, ?> e : m.entrySet()) {
        unknownFields(e.getValue(), path + "." + e.getKey(), out, seen);
      }
      return;
    }
    if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
      return;
    }
    seen.put(o, true);
    for (Method m : o.getClass().getMethods()) {
      if (m.getParameterCount() != 0
          || Modifier.isStatic(m.getModifiers())
          || !m.getName().startsWith("get")
          || m.getDeclaringClass() == Object.class) {
        continue;
      }
      Object v = m.invoke(o);
      if (m.getName().equals("getAdditionalProperties") && v instanceof Map<?, ?> extra) {
        extra.keySet().forEach(k -> out.add(path + "." + k));
        continue;
      }
      unknownFields(v, path + "." + m.getName().substring(3), out, seen);
    }
  }

  private static <T> List<T> of(List<HasMetadata> objs, Class<T> type) {
    return objs.stream().filter(type::isInstance).map(type::cast).toList();
  }

  @Test
  void theMeshInstallIsStrictlyValidAndAgreesWithIstiod() throws Exception {
    List<HasMetadata> mesh = read("mesh.yaml");
    Deployment istiod = named(of(mesh, Deployment.class), "istiod");
    Container discovery = istiod.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertThat(discovery.getImage()).isEqualTo("shopmesh/pilot:latest");
    List<String> args = discovery.getArgs();
    assertThat(args).containsSequence("--config-source", "kubernetes");
    int webhookPort = Integer.parseInt(args.get(args.indexOf("--webhook-port") + 1));
    Service svc = named(of(mesh, Service.class), "istiod");
    ServicePort https =
        svc.getSpec().getPorts().stream().filter(p -> p.getPort() == 443).findFirst().orElseThrow();
    assertThat(https.getTargetPort().getIntVal()).isEqualTo(webhookPort);
    assertThat(svc.getSpec().getSelector())
        .isEqualTo(
            istiod.getSpec().getTemplate().getMetadata().getLabels().entrySet().stream()
                .filter(e -> svc.getSpec().getSelector().containsKey(e.getKey()))
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)));

    ValidatingWebhookConfiguration validator =
        of(mesh, ValidatingWebhookConfiguration.class).get(0);
    assertThat(validator.getMetadata().getName()).isEqualTo(CaBundlePatcher.VALIDATOR);
    assertThat(validator.getWebhooks())
        .allSatisfy(
            w -> {
              assertThat(w.getClientConfig().getService().getPath()).isEqualTo("/validate");
              assertThat(w.getClientConfig().getService().getPort()).isEqualTo(443);
              assertThat(w.getClientConfig().getService().getName()).isEqualTo("istiod");
            });
    MutatingWebhookConfiguration injector = of(mesh, MutatingWebhookConfiguration.class).get(0);
    assertThat(injector.getMetadata().getName()).isEqualTo(CaBundlePatcher.INJECTOR);
    assertThat(injector.getWebhooks())
        .hasSize(2)
        .allSatisfy(
            w -> {
              assertThat(w.getClientConfig().getService().getPath()).isEqualTo("/inject");
              assertThat(w.getRules().get(0).getResources()).containsExactly("pods");
            });
    assertThat(
            injector
                .getWebhooks()
                .get(0)
                .getNamespaceSelector()
                .getMatchExpressions()
                .get(0)
                .getKey())
        .isEqualTo(SidecarInjector.NAMESPACE_LABEL);

    // the walkthrough's Gateway selects istio: ingressgateway; Service port 80 -> the proxy's 8080
    Deployment gw = named(of(mesh, Deployment.class), "istio-ingressgateway");
    assertThat(gw.getSpec().getTemplate().getMetadata().getLabels())
        .containsEntry("istio", "ingressgateway")
        .containsEntry("sidecar.istio.io/inject", "false");
    Service gws = named(of(mesh, Service.class), "istio-ingressgateway");
    ServicePort http =
        gws.getSpec().getPorts().stream().filter(p -> p.getPort() == 80).findFirst().orElseThrow();
    assertThat(http.getTargetPort().getIntVal()).isEqualTo(8080);
    assertThat(gw.getSpec().getTemplate().getSpec().getContainers().get(0).getPorts())
        .anySatisfy(p -> assertThat(p.getContainerPort()).isEqualTo(8080));
    assertThat(http.getNodePort()).isEqualTo(kindHostPortFor(8080));
  }

  /** What the injector makes of the shop's Deployments is as strict as the rest. */
  @Test
  void theInjectedShopIsStrictlyValid() throws Exception {
    SidecarInjector injector = new SidecarInjector(SidecarInjector.Settings.defaults());
    try (Stream<Path> files = Files.list(Path.of("../../manifests"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        String injected = KubeInjectCommand.inject(Files.readString(f), injector);
        List<HasMetadata> objs = strict(f.getFileName().toString(), injected);
        for (Deployment d : of(objs, Deployment.class)) {
          assertThat(d.getSpec().getTemplate().getSpec().getContainers().get(0).getName())
              .isEqualTo(SidecarInjector.PROXY);
        }
      }
    }
  }

  @Test
  void thePaymentProviderIsOutsideTheMeshAndItsCaMatchesTheDestinationRule() throws Exception {
    List<HasMetadata> objs = read("payment-provider.yaml");
    assertThat(objs.get(0).getMetadata().getLabels()).containsEntry("istio-injection", "disabled");
    Deployment d = of(objs, Deployment.class).get(0);
    String certsDir =
        d.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().stream()
            .filter(e -> e.getName().equals("PAYMENT_CERTS_DIR"))
            .findFirst()
            .orElseThrow()
            .getValue();
    String dr = Files.readString(Path.of("../../manifests/payment-destination-rule.yaml"));
    assertThat(dr).contains("caCertificates: " + certsDir + "/ca.crt");
    String order = Files.readString(Path.of("../../manifests/order-service.yaml"));
    assertThat(order).contains("\"mountPath\":\"" + certsDir + "\"");
    Service svc = of(objs, Service.class).get(0);
    assertThat(svc.getSpec().getPorts()).anySatisfy(p -> assertThat(p.getPort()).isEqualTo(443));
  }

  @Test
  void istiosCrdsCoverEveryKindTheMeshReads() throws Exception {
    List<CustomResourceDefinition> crds =
        of(readLenient("istio-crds.yaml"), CustomResourceDefinition.class);
    assertThat(crds.stream().map(c -> c.getSpec().getNames().getKind()))
        .contains("VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Sidecar");
    assertThat(
            crds.stream()
                .filter(c -> c.getSpec().getNames().getKind().equals("VirtualService"))
                .findFirst()
                .orElseThrow()
                .getSpec()
                .getVersions())
        .extracting(v -> v.getName())
        .contains("v1", "v1beta1", "v1alpha3");
  }

  @SuppressWarnings("unchecked")
  private static List<HasMetadata> readLenient(String file) throws Exception {
    Object o = Serialization.unmarshal(Files.readString(KIND.resolve(file)));
    return o instanceof List<?> l ? (List<HasMetadata>) l : List.of((HasMetadata) o);
  }

  @Test
  void theKindClusterPublishesTheGatewayOnTheHostsPort8080() throws Exception {
    JsonNode cfg = new YAMLMapper().readTree(KIND.resolve("kind-config.yaml").toFile());
    assertThat(cfg.path("apiVersion").asText()).isEqualTo("kind.x-k8s.io/v1alpha4");
    assertThat(fieldNames(cfg))
        .isSubsetOf("kind", "apiVersion", "name", "nodes", "networking", "featureGates");
    for (JsonNode node : cfg.path("nodes")) {
      assertThat(fieldNames(node))
          .isSubsetOf(
              "role",
              "image",
              "extraPortMappings",
              "extraMounts",
              "labels",
              "kubeadmConfigPatches");
      for (JsonNode m : node.path("extraPortMappings")) {
        assertThat(fieldNames(m))
            .isSubsetOf("containerPort", "hostPort", "listenAddress", "protocol");
      }
    }
    assertThat(kindHostPortFor(8080)).isEqualTo(30080);
  }

  @Test
  void theScriptsLoadEveryImageTheManifestsUse() throws Exception {
    String up = Files.readString(KIND.resolve("up.sh"));
    String build = Files.readString(Path.of("../../deploy/docker/build-images.sh"));
    List<String> images = new ArrayList<>();
    try (Stream<Path> files = Files.list(Path.of("../../manifests"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
        for (String line : Files.readAllLines(f)) {
          if (line.trim().startsWith("image:")) {
            images.add(line.trim().substring("image:".length()).trim());
          }
        }
      }
    }
    images.addAll(
        Set.of(
            "shopmesh/pilot:latest", "shopmesh/proxyv2:latest", "example/payment-provider:latest"));
    assertThat(images)
        .isNotEmpty()
        .allSatisfy(
            i -> {
              assertThat(up).contains(i);
              assertThat(build).contains(i);
            });
  }

  /** The NodePort that kind-config.yaml publishes on the given host port. */
  private static int kindHostPortFor(int hostPort) throws Exception {
    JsonNode cfg = new YAMLMapper().readTree(KIND.resolve("kind-config.yaml").toFile());
    for (JsonNode m : cfg.path("nodes").get(0).path("extraPortMappings")) {
      if (m.path("hostPort").asInt() == hostPort) {
        return m.path("containerPort").asInt();
      }
    }
    return -1;
  }

  private static List<String> fieldNames(JsonNode n) {
    List<String> out = new ArrayList<>();
    n.fieldNames().forEachRemaining(out::add);
    return out;
  }

  private static <T extends HasMetadata> T named(List<T> objs, String name) {
    return objs.stream()
        .filter(o -> o.getMetadata().getName().equals(name))
        .findFirst()
        .orElseThrow();
  }
}
