package io.shopmesh.mesh.meshctl.local;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Where the repository is (modules, manifests) and where runtime state lives ({@code .mesh/}). The
 * {@code ./meshctl} script sets {@code MESH_HOME}; otherwise the directory of meshctl.jar's module,
 * or the current directory, is used. {@code MESH_STATE_DIR} moves the state (tests run a second
 * mesh beside a developer's one).
 */
public final class MeshHome {

  private MeshHome() {}

  public static Path home() {
    String env = System.getenv("MESH_HOME");
    if (env != null && !env.isBlank()) {
      return Path.of(env).toAbsolutePath().normalize();
    }
    Path jar = meshctlJar();
    if (jar != null) {
      // <home>/mesh-runtime/meshctl/target/meshctl.jar
      Path home = jar.getParent();
      for (int i = 0; i < 3 && home != null; i++) {
        home = home.getParent();
      }
      if (home != null && Files.isRegularFile(home.resolve("pom.xml"))) {
        return home;
      }
    }
    return Path.of("").toAbsolutePath();
  }

  public static Path stateDir(String option) {
    if (option != null && !option.isBlank()) {
      return Path.of(option).toAbsolutePath().normalize();
    }
    String env = System.getenv("MESH_STATE_DIR");
    if (env != null && !env.isBlank()) {
      return Path.of(env).toAbsolutePath().normalize();
    }
    return home().resolve(".mesh");
  }

  /** The jar this class was loaded from, or null when running from classes (tests, IDE). */
  public static Path meshctlJar() {
    try {
      var src = MeshHome.class.getProtectionDomain().getCodeSource();
      if (src == null) {
        return null;
      }
      Path p = Path.of(src.getLocation().toURI());
      return p.toString().endsWith(".jar") ? p : null;
    } catch (URISyntaxException | RuntimeException e) {
      return null;
    }
  }

  /** The whole mesh runtime's class path: meshctl.jar (its manifest lists lib/) or this JVM's. */
  public static String runtimeClasspath() {
    Path jar = meshctlJar();
    if (jar != null) {
      return jar.toString();
    }
    // children run in their pod's directory: a relative entry would not resolve there
    return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .map(e -> Path.of(e).toAbsolutePath().toString())
        .collect(Collectors.joining(File.pathSeparator));
  }

  public static Path watchdogJar() {
    return watchdogJar(null);
  }

  public static Path watchdogJar(String override) {
    if (override != null) {
      return Path.of(override);
    }
    Path jar = meshctlJar();
    Path home = jar != null ? jar.getParent() : home().resolve("mesh-runtime/meshctl/target");
    Path agent = home.resolve("meshctl-watchdog.jar");
    return Files.isRegularFile(agent) ? agent : null;
  }

  public static String javaBin() {
    return ProcessHandle.current()
        .info()
        .command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
  }
}
