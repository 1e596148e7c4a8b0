package io.shopmesh.mesh.meshctl.local;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.meshctl.local.MeshPlan.ContainerType;
import io.shopmesh.mesh.meshctl.local.MeshPlan.Kind;
import io.shopmesh.mesh.meshctl.local.MeshPlan.Pod;
import io.shopmesh.mesh.meshctl.local.MeshPlan.PortMapping;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.random.RandomGenerator;

/** Turns the manifests' Deployments into the local pods to run. Pure: no files, no processes. */
public final class Planner {

  public static final String GATEWAY_WORKLOAD = "istio-ingressgateway";
  public static final String GATEWAY_NAMESPACE = "istio-system";
  public static final String PROXY_CONTAINER = "istio-proxy";
  public static final String PAYMENT_PROVIDER = "payment-provider";
  public static final String PAYMENT_PROVIDER_HOST = "api.payment-provider.com";

  /** The ingress gateway Service as Istio installs it: 80 -> 8080, 443 -> 8443. */
  public static final List<Integer> GATEWAY_PORTS = List.of(8080, 8443);

  public static final int GATEWAY_HTTP_PORT = 8080;

  /** The ingress gateway's service account as Istio's installation names it. */
  public static final String GATEWAY_SERVICE_ACCOUNT = "istio-ingressgateway-service-account";

  /** A pod template without serviceAccountName runs as this one, as on Kubernetes. */
  public static final String DEFAULT_SERVICE_ACCOUNT = "default";

  /** The gateway's port for Gateway servers on 443 (Istio's default targetPort 8443). */
  public static final int GATEWAY_HTTPS_PORT = 8443;

  public record Options(
      String subnet,
      String istiodAddress,
      int xdsPort,
      int istiodHttpPort,
      String gatewayPublishAddress,
      int gatewayPublishPort,
      int gatewayHttpsPublishPort,
      boolean paymentProvider) {

    public static Options defaults() {
      return new Options("127.0.1", "127.0.0.1", 15010, 15014, "127.0.0.1", 8080, 8443, true);
    }
  }

  private Planner() {}

  public static MeshPlan plan(MeshConfig config, Options opts, RandomGenerator random) {
    IpAllocator ips = new IpAllocator(opts.subnet());
    List<Pod> pods = new ArrayList<>();

    Map<String, String> gwLabels = new LinkedHashMap<>();
    gwLabels.put("app", GATEWAY_WORKLOAD);
    gwLabels.put("istio", "ingressgateway");
    String gwHash = PodNames.templateHash(GATEWAY_WORKLOAD + gwLabels);
    pods.add(
        new Pod(
            PodNames.podName(GATEWAY_WORKLOAD, gwHash, PodNames.suffix(random)),
            GATEWAY_NAMESPACE,
            Kind.GATEWAY,
            GATEWAY_WORKLOAD,
            "-",
            ips.gateway(),
            gwLabels,
            List.of(
                new MeshPlan.Container(
                    PROXY_CONTAINER,
                    ContainerType.PROXY,
                    null,
                    GATEWAY_PORTS.stream().map(p -> new PortMapping(p, p)).toList())),
            GATEWAY_SERVICE_ACCOUNT));

    if (opts.paymentProvider()) {
      pods.add(
          new Pod(
              PAYMENT_PROVIDER,
              "-",
              Kind.EXTERNAL,
              PAYMENT_PROVIDER,
              "-",
              ips.paymentProvider(),
              Map.of("app", PAYMENT_PROVIDER),
              List.of(
                  new MeshPlan.Container(
                      PAYMENT_PROVIDER,
                      ContainerType.APP,
                      PAYMENT_PROVIDER,
                      List.of(PortMapping.of(80), PortMapping.of(443)))),
              null));
    }

    for (Located<Deployment> located : config.deployments()) {
      Deployment d = located.object();
      String where =
          "Deployment "
              + located.namespace()
              + "/"
              + located.name()
              + " ("
              + located.source()
              + ")";
      PodTemplateSpec template = d.getSpec() == null ? null : d.getSpec().getTemplate();
      if (template == null
          || template.getSpec() == null
          || template.getSpec().getContainers() == null
          || template.getSpec().getContainers().isEmpty()) {
        throw new IllegalArgumentException(where + ": no containers in spec.template");
      }
      Map<String, String> labels = new TreeMap<>();
      if (template.getMetadata() != null && template.getMetadata().getLabels() != null) {
        labels.putAll(template.getMetadata().getLabels());
      }
      List<MeshPlan.Container> containers = new ArrayList<>();
      StringBuilder templateText = new StringBuilder(located.name()).append(labels);
      for (Container c : template.getSpec().getContainers()) {
        String module = ImageCatalog.requireModule(c.getImage(), where);
        List<PortMapping> ports = new ArrayList<>();
        if (c.getPorts() != null) {
          for (ContainerPort p : c.getPorts()) {
            if (p.getContainerPort() != null) {
              ports.add(PortMapping.of(p.getContainerPort()));
            }
          }
        }
        containers.add(new MeshPlan.Container(c.getName(), ContainerType.APP, module, ports));
        templateText.append(c.getName()).append(c.getImage()).append(ports);
      }
      containers.add(new MeshPlan.Container(PROXY_CONTAINER, ContainerType.PROXY, null, List.of()));
      String hash = PodNames.templateHash(templateText.toString());
      Map<String, String> podLabels = new TreeMap<>(labels);
      podLabels.put("pod-template-hash", hash);
      int replicas = d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas();
      String version = labels.getOrDefault("version", "-");
      String serviceAccount = template.getSpec().getServiceAccountName();
      if (serviceAccount == null || serviceAccount.isBlank()) {
        serviceAccount = DEFAULT_SERVICE_ACCOUNT;
      }
      for (int i = 0; i < replicas; i++) {
        pods.add(
            new Pod(
                PodNames.podName(located.name(), hash, PodNames.suffix(random)),
                located.namespace(),
                Kind.WORKLOAD,
                located.name(),
                version,
                ips.nextPod(),
                podLabels,
                containers,
                serviceAccount));
      }
    }
    return new MeshPlan(
        opts.subnet(),
        opts.istiodAddress(),
        opts.xdsPort(),
        opts.istiodHttpPort(),
        opts.gatewayPublishAddress(),
        opts.gatewayPublishPort(),
        opts.gatewayHttpsPublishPort(),
        pods);
  }

  /** The modules whose jars the plan needs. */
  public static List<String> modules(MeshPlan plan) {
    return plan.pods().stream()
        .flatMap(p -> p.containers().stream())
        .filter(c -> c.type() == ContainerType.APP)
        .map(MeshPlan.Container::module)
        .distinct()
        .toList();
  }
}
