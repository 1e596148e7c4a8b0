package io.shopmesh.mesh.istiod;

import io.shopmesh.mesh.config.LoadResult;
import java.nio.file.Path;

/**
 * Where config comes from: a watched directory locally and in containers ({@link
 * DirectoryConfigSource}), the Kubernetes API on a cluster ({@link KubernetesConfigSource}).
 */
public interface ConfigSource extends AutoCloseable {

  /** Starts watching; {@code onChange} runs after something changed (callers debounce). */
  void start(Runnable onChange);

  /** Reads the whole config now. */
  LoadResult load();

  /** The directory that {@code /apply} writes into, or null when the source is not a directory. */
  Path directory();

  @Override
  void close();
}
