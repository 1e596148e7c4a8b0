package io.shopmesh.mesh.istiod;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.WorkloadInstance;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How Pods and EndpointSlices become the registry's entries. */
class KubernetesRegistryTest {

  static final String NS = "default";

  @Test
  void readinessComesFromTheEndpointSlices() {
    Pod a = KubernetesSourceTest.pod("product-service-v1-5d8c7-aaaaa", "10.0.0.1", "p", "v1", 8080);
    Pod b = KubernetesSourceTest.pod("product-service-v1-5d8c7-bbbbb", "10.0.0.2", "p", "v1", 8080);
    Pod c = KubernetesSourceTest.pod("product-service-v1-5d8c7-ccccc", "10.0.0.3", "p", "v1", 8080);
    Pod d = KubernetesSourceTest.pod("product-service-v1-5d8c7-ddddd", "10.0.0.4", "p", "v1", 8080);
    EndpointSlice slice =
        new EndpointSliceBuilder()
            .withNewMetadata()
            .withName("p-1")
            .withNamespace(NS)
            .endMetadata()
            .withAddressType("IPv4")
            // ready by targetRef
            .addNewEndpoint()
            .withAddresses("10.0.0.1")
            .withNewConditions()
            .withReady(true)
            .endConditions()
            .withNewTargetRef()
            .withKind("Pod")
            .withName("product-service-v1-5d8c7-aaaaa")
            .endTargetRef()
            .endEndpoint()
            // not ready
            .addNewEndpoint()
            .withAddresses("10.0.0.2")
            .withNewConditions()
            .withReady(false)
            .endConditions()
            .withNewTargetRef()
            .withKind("Pod")
            .withName("product-service-v1-5d8c7-bbbbb")
            .endTargetRef()
            .endEndpoint()
            // no targetRef, readiness unset: ready, by its address in the slice's namespace
            .addNewEndpoint()
            .withAddresses("10.0.0.3")
            .endEndpoint()
            .build();
    List<WorkloadRegistry.Entry> entries =
        KubernetesRegistry.entries(List.of(d, c, b, a), List.of(slice));
    assertThat(entries)
        .extracting(e -> e.workload().podName() + "=" + e.ready())
        .containsExactly(
            "product-service-v1-5d8c7-aaaaa=true",
            "product-service-v1-5d8c7-bbbbb=false",
            "product-service-v1-5d8c7-ccccc=true",
            "product-service-v1-5d8c7-ddddd=false"); // in no slice
    assertThat(entries.get(0).serviceAccount()).isEqualTo("p");
  }

  @Test
  void podsWithoutAnIpOrBeingDeletedAreNotInTheRegistry() {
    Pod pending = KubernetesSourceTest.pod("w-abc12-aaaaa", "10.0.0.1", "w", "v1", 80);
    pending.getStatus().setPodIP(null);
    Pod deleting = KubernetesSourceTest.pod("w-abc12-bbbbb", "10.0.0.2", "w", "v1", 80);
    deleting.getMetadata().setDeletionTimestamp("2026-12-01T00:00:00Z");
    assertThat(KubernetesRegistry.entries(List.of(pending, deleting), List.of())).isEmpty();
  }

  @Test
  void theWorkloadIsTheDeploymentAndTheSidecarsPortsAreNotTheApps() {
    WorkloadInstance w =
        KubernetesRegistry.workload(
            KubernetesSourceTest.pod(
                "product-service-v2-6b7f4-m9k2p", "10.0.0.9", "p", "v2", 8080));
    assertThat(w.workloadName()).isEqualTo("product-service-v2");
    assertThat(w.sidecar()).isTrue();
    assertThat(w.ports()).containsExactly(new PodPort("http", 8080, "TCP"));

    Pod bare =
        new PodBuilder()
            .withNewMetadata()
            .withName("standalone")
            .withNamespace(NS)
            .addToLabels("app", "x")
            .endMetadata()
            .withNewSpec()
            .addNewContainer()
            .withName("x")
            .endContainer()
            .endSpec()
            .withNewStatus()
            .withPodIP("10.0.0.10")
            .endStatus()
            .build();
    WorkloadInstance b = KubernetesRegistry.workload(bare);
    assertThat(b.workloadName()).isEqualTo("standalone");
    assertThat(b.sidecar()).as("no istio-proxy, no tlsMode label").isFalse();
  }

  @Test
  void aGatewaysProxyIsItsWorkloadNotASidecar() {
    Pod gw =
        new PodBuilder()
            .withNewMetadata()
            .withName("istio-ingressgateway-7f9c4-abcde")
            .withNamespace("istio-system")
            .addToLabels("istio", "ingressgateway")
            .addToLabels("app", "istio-ingressgateway")
            .addToLabels(KubernetesRegistry.TLS_MODE_LABEL, "istio")
            .endMetadata()
            .withNewSpec()
            .addNewContainer()
            .withName(KubernetesRegistry.PROXY_CONTAINER)
            .addNewPort()
            .withName("http2")
            .withContainerPort(8080)
            .endPort()
            .endContainer()
            .endSpec()
            .withNewStatus()
            .withPodIP("10.0.0.20")
            .endStatus()
            .build();
    WorkloadInstance w = KubernetesRegistry.workload(gw);
    assertThat(w.sidecar()).isFalse();
    assertThat(w.ports()).containsExactly(new PodPort("http2", 8080, "TCP"));
  }

  @Test
  void aNativeSidecarCountsAsASidecar() {
    Pod p =
        new PodBuilder()
            .withNewMetadata()
            .withName("app-0")
            .withNamespace(NS)
            .endMetadata()
            .withNewSpec()
            .addNewContainer()
            .withName("app")
            .endContainer()
            .addToInitContainers(
                new ContainerBuilder()
                    .withName(KubernetesRegistry.PROXY_CONTAINER)
                    .withRestartPolicy("Always")
                    .build())
            .endSpec()
            .withNewStatus()
            .withPodIP("10.0.0.30")
            .endStatus()
            .build();
    assertThat(KubernetesRegistry.workload(p).sidecar()).isTrue();
  }
}
