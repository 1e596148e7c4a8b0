package io.shopmesh.bench;

import io.shopmesh.mesh.meshctl.local.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The run's settings and where things are: work directory, repository, classpath, JVM flags. */
final class Env {

  final Options o;
  final Path repo;
  final Path work;
  final String javaBin;
  final String classpath;

  Env(Options o, Path repo, Path work) {
    this.o = o;
    this.repo = repo;
    this.work = work;
    this.javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    this.classpath = System.getProperty("java.class.path");
  }

  String ip(int last) {
    return o.subnet + "." + last;
  }

  /**
   * A JVM of the mesh as {@code meshctl up} starts it (same flags, same heap per role), unless the
   * run overrides the flags to try others.
   */
  List<String> meshJvm(String heap, List<String> override) {
    List<String> argv = new ArrayList<>();
    argv.add(javaBin);
    if (override != null && !override.isEmpty()) {
      argv.addAll(override);
    } else {
      argv.add("-Xms16m");
      argv.add(heap);
      argv.addAll(Commands.COMMON_JVM_FLAGS);
    }
    argv.add("-cp");
    argv.add(classpath);
    return argv;
  }

  /** Copies a file of bench/conf with its ${NAME} placeholders replaced. */
  Path render(String confFile, Path to, Map<String, String> vars) throws IOException {
    String text = Files.readString(repo.resolve("bench/conf").resolve(confFile));
    for (Map.Entry<String, String> e : vars.entrySet()) {
      text = text.replace("${" + e.getKey() + "}", e.getValue());
    }
    Files.createDirectories(to.getParent());
    Files.writeString(to, text);
    return to;
  }

  Path log(String name) {
    return work.resolve("logs").resolve(name + ".log");
  }

  static void say(String fmt, Object... args) {
    System.out.printf("[bench] " + fmt + "%n", args);
    System.out.flush();
  }
}
