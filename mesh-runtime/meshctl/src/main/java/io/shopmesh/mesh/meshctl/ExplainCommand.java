package io.shopmesh.mesh.meshctl;

import io.shopmesh.mesh.meshctl.local.MeshState;
import io.shopmesh.mesh.meshctl.trace.Records;
import io.shopmesh.mesh.meshctl.trace.TraceTree;
import io.vertx.core.json.JsonArray;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code meshctl explain REQUEST-ID}: the path of a request already sent, from every proxy. */
@Command(
    name = "explain",
    mixinStandardHelpOptions = true,
    description = {
      "Collects the decision records of one x-request-id (in the access log) from every proxy",
      "(/debug/requests on 15000) and prints the request's path across hops: the rule and YAML",
      "line that matched, the weighted pick, each attempt's endpoint, retries and failures."
    })
public final class ExplainCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "REQUEST-ID")
  String requestId;

  @Option(
      names = {"-o", "--output"},
      paramLabel = "FORMAT",
      description = "json: the records of every pod as they are.")
  String output;

  @Mixin MeshOptions mesh;

  @Override
  public Integer call() {
    MeshState st = mesh.requireRunning();
    return print(st, requestId, output);
  }

  /** Prints the records of one request as a tree (or JSON); 1 when no proxy has any. */
  static int print(MeshState st, String requestId, String output) {
    Map<String, JsonArray> byPod = Records.collect(st, requestId);
    if ("json".equals(output)) {
      System.out.println(Records.json(requestId, byPod).encodePrettily());
    } else {
      System.out.println("request " + requestId);
      System.out.print(new TraceTree(TraceTree.hops(byPod, Records.ips(st))).render());
    }
    if (byPod.isEmpty()) {
      System.err.println(
          "meshctl: no proxy has a record of "
              + requestId
              + " (records are kept for the last 1000 requests per proxy)");
      return 1;
    }
    return 0;
  }
}
