package io.shopmesh.mesh.xds;

import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.MeshConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The workload instances (pods) that endpoints are built from, sorted for stable output. */
public record ServiceRegistry(List<WorkloadInstance> workloads) {

  public ServiceRegistry {
    workloads =
        workloads.stream()
            .sorted(
                Comparator.comparing(WorkloadInstance::namespace)
                    .thenComparing(WorkloadInstance::podName)
                    .thenComparing(WorkloadInstance::ip))
            .toList();
  }

  public static ServiceRegistry empty() {
    return new ServiceRegistry(List.of());
  }

  /**
   * Pods as the local launcher starts them from the Deployments: replica i of each deployment gets
   * the next loopback IP from {@code 127.0.1.1}, named {@code <deployment>-<i>}. Used by tests and
   * tools that want the registry a full {@code meshctl up} would produce.
   */
  public static ServiceRegistry fromDeployments(MeshConfig config) {
    List<WorkloadInstance> out = new ArrayList<>();
    int next = 1;
    for (Located<Deployment> d : config.deployments()) {
      Deployment dep = d.object();
      int replicas = dep.getSpec().getReplicas() == null ? 1 : dep.getSpec().getReplicas();
      Map<String, String> labels = new LinkedHashMap<>();
      if (dep.getSpec().getTemplate().getMetadata() != null
          && dep.getSpec().getTemplate().getMetadata().getLabels() != null) {
        labels.putAll(dep.getSpec().getTemplate().getMetadata().getLabels());
      }
      List<PodPort> ports = new ArrayList<>();
      dep.getSpec()
          .getTemplate()
          .getSpec()
          .getContainers()
          .forEach(
              c -> {
                if (c.getPorts() != null) {
                  for (ContainerPort p : c.getPorts()) {
                    ports.add(
                        new PodPort(
                            p.getName(),
                            p.getContainerPort(),
                            p.getProtocol() == null ? "TCP" : p.getProtocol()));
                  }
                }
              });
      for (int i = 0; i < replicas; i++, next++) {
        String ip = "127.0.1." + next;
        out.add(
            new WorkloadInstance(
                d.name() + "-" + i, d.namespace(), ip, labels, d.name(), ports, true));
      }
    }
    return new ServiceRegistry(out);
  }
}
