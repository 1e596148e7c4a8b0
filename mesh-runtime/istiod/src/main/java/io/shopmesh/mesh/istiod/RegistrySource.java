package io.shopmesh.mesh.istiod;

/**
 * Where the registry's pods come from (its source of truth): the registry file ({@link
 * RegistryFile}) or the Kubernetes API ({@link KubernetesRegistry}). It fills a {@link
 * WorkloadRegistry} with {@link WorkloadRegistry#replace}.
 */
public interface RegistrySource extends AutoCloseable {

  /** Creates a source that fills {@code registry} and runs {@code onChange} after each change. */
  @FunctionalInterface
  interface Factory {
    RegistrySource create(WorkloadRegistry registry, Runnable onChange);
  }

  /** Reads the source now; true when the registry changed (and is therefore synced). */
  boolean read();

  /** Follows the source in the background from now on. */
  void start();

  /** Where the pods come from, for log lines. */
  String where();

  @Override
  void close();
}
