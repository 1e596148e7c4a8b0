package io.shopmesh.mesh.meshctl;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.shopmesh.mesh.istiod.inject.SidecarInjector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code meshctl kube-inject} on the walkthrough's own Deployments. */
class KubeInjectCommandTest {

  private static final Path MANIFESTS = Path.of("../../manifests");
  private final SidecarInjector injector = new SidecarInjector(SidecarInjector.Settings.defaults());

  @SuppressWarnings("unchecked")
  private static List<HasMetadata> parse(String yaml) {
    Object o = Serialization.unmarshal(yaml);
    return o instanceof List<?> l ? (List<HasMetadata>) l : List.of((HasMetadata) o);
  }

  @Test
  void aDeploymentGetsTheSidecarAndAServicePassesThrough() throws Exception {
    String out =
        KubeInjectCommand.inject(
            Files.readString(MANIFESTS.resolve("order-service.yaml")), injector);
    List<HasMetadata> objs = parse(out);
    assertThat(objs).hasSize(3); // Deployment, Service, ServiceAccount
    Deployment d = (Deployment) objs.get(0);
    List<Container> containers = d.getSpec().getTemplate().getSpec().getContainers();
    assertThat(containers)
        .extracting(Container::getName)
        .containsExactly("istio-proxy", "order-service");
    assertThat(d.getSpec().getTemplate().getSpec().getInitContainers())
        .extracting(Container::getName)
        .containsExactly("istio-init");
    Container proxy = containers.get(0);
    assertThat(proxy.getImage()).isEqualTo("shopmesh/proxyv2:latest");
    assertThat(proxy.getEnv())
        .anySatisfy(
            e -> {
              assertThat(e.getName()).isEqualTo("ISTIO_META_WORKLOAD_NAME");
              assertThat(e.getValue()).isEqualTo("order-service");
            });
    assertThat(proxy.getSecurityContext().getRunAsUser()).isEqualTo(1337L);
    assertThat(
            d.getSpec()
                .getTemplate()
                .getSpec()
                .getInitContainers()
                .get(0)
                .getSecurityContext()
                .getCapabilities()
                .getAdd())
        .containsExactly("NET_ADMIN", "NET_RAW");
    assertThat(d.getSpec().getTemplate().getMetadata().getAnnotations())
        .containsKey(SidecarInjector.STATUS);
    // the selector is untouched: injection adds labels to the template only
    assertThat(d.getSpec().getSelector().getMatchLabels())
        .doesNotContainKey("security.istio.io/tlsMode");
    Service s = (Service) objs.get(1);
    assertThat(s.getMetadata().getName()).isEqualTo("order-service");
  }

  @Test
  void injectingTwiceChangesNothingAndAnOptOutIsKept() throws Exception {
    String once =
        KubeInjectCommand.inject(
            Files.readString(MANIFESTS.resolve("product-service-v1.yaml")), injector);
    assertThat(KubeInjectCommand.inject(once, injector)).isEqualTo(once);
    String optOut =
        Files.readString(MANIFESTS.resolve("product-service-v1.yaml"))
            .replace(
                "    metadata:\n      labels:",
                "    metadata:\n      annotations:\n        sidecar.istio.io/inject: \"false\"\n      labels:");
    Deployment d = (Deployment) parse(KubeInjectCommand.inject(optOut, injector)).get(0);
    assertThat(d.getSpec().getTemplate().getSpec().getContainers())
        .extracting(Container::getName)
        .containsExactly("product-service");
  }
}
