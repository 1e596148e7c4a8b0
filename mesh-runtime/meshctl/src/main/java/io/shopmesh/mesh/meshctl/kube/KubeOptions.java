package io.shopmesh.mesh.meshctl.kube;

import picocli.CommandLine.Option;

/**
 * {@code --kube [--context NAME]}: act on the mesh in a Kubernetes cluster instead of the local
 * one.
 */
public class KubeOptions {

  @Option(
      names = "--kube",
      description = "The mesh on the Kubernetes cluster of the current kubeconfig context.")
  public boolean kube;

  @Option(
      names = "--context",
      paramLabel = "NAME",
      description = "With --kube: this kubeconfig context instead of the current one.")
  public String context;

  public KubeMesh connect() {
    return KubeMesh.connect(context);
  }
}
