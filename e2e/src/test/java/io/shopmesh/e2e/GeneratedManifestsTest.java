package io.shopmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Kubernetes manifests quarkus-kubernetes generates for each app (target/kubernetes, built in
 * the apps' package phase, before this module) and the Deployments the mesh runs (manifests/, and
 * deploy/kind for the payment provider) describe the same workload: name, app and version labels,
 * replicas, container name, image, ports, and the readiness and liveness probes.
 */
class GeneratedManifestsTest {

  private static final Path HOME = Path.of(System.getProperty("mesh.home", ".."));

  @ParameterizedTest(name = "{0}: {1}")
  @CsvSource({
    "frontend, manifests/frontend-service.yaml",
    "product-v1, manifests/product-service-v1.yaml",
    "product-v2, manifests/product-service-v2.yaml",
    "order-service, manifests/order-service.yaml",
    "payment-provider, deploy/kind/payment-provider.yaml",
  })
  void theGeneratedDeploymentAgreesWithTheMeshsOwn(String module, String file) throws Exception {
    Path generated = HOME.resolve(module).resolve("target/kubernetes/kubernetes.yml");
    assertThat(generated)
        .as("quarkus-kubernetes output of %s (./mvnw package builds it)", module)
        .exists();
    Deployment gen = deployment(generated);
    Deployment own = deployment(HOME.resolve(file));

    assertThat(own.getMetadata().getName()).isEqualTo(gen.getMetadata().getName());
    Map<String, String> genLabels = gen.getSpec().getTemplate().getMetadata().getLabels();
    Map<String, String> ownLabels = own.getSpec().getTemplate().getMetadata().getLabels();
    for (String label : List.of("app", "version")) {
      assertThat(ownLabels.get(label)).as(label).isEqualTo(genLabels.get(label));
    }
    assertThat(replicas(own)).isEqualTo(replicas(gen));

    Container g = gen.getSpec().getTemplate().getSpec().getContainers().get(0);
    Container o = own.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertThat(o.getName()).isEqualTo(g.getName());
    assertThat(o.getImage()).isEqualTo(g.getImage());
    assertThat(ports(o)).containsExactlyInAnyOrderElementsOf(ports(g));
    assertThat(httpGet(o.getReadinessProbe()))
        .as("readiness")
        .isEqualTo(httpGet(g.getReadinessProbe()));
    assertThat(httpGet(o.getLivenessProbe()))
        .as("liveness")
        .isEqualTo(httpGet(g.getLivenessProbe()));
  }

  @SuppressWarnings("unchecked")
  private static Deployment deployment(Path file) throws Exception {
    Object o = Serialization.unmarshal(Files.readString(file));
    List<HasMetadata> objs =
        o instanceof List<?> l ? (List<HasMetadata>) l : List.of((HasMetadata) o);
    return objs.stream()
        .filter(Deployment.class::isInstance)
        .map(Deployment.class::cast)
        .findFirst()
        .orElseThrow(() -> new AssertionError("no Deployment in " + file));
  }

  private static int replicas(Deployment d) {
    return d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas();
  }

  private static List<Integer> ports(Container c) {
    return c.getPorts().stream().map(ContainerPort::getContainerPort).toList();
  }

  private static String httpGet(Probe p) {
    if (p == null || p.getHttpGet() == null) {
      return "none";
    }
    HTTPGetAction a = p.getHttpGet();
    return a.getPath() + " on " + a.getPort().getIntVal();
  }
}
