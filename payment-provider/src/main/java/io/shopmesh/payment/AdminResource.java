package io.shopmesh.payment;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.openapi.annotations.Operation;

@Path("/admin")
@Produces(MediaType.APPLICATION_JSON)
public class AdminResource {

  private final ChargeService charges;
  private final FaultInjector faults;

  public AdminResource(ChargeService charges, FaultInjector faults) {
    this.charges = charges;
    this.faults = faults;
  }

  @GET
  @Path("/faults")
  public FaultInjector.Faults faults() {
    return faults.get();
  }

  @POST
  @Path("/faults")
  @Consumes(MediaType.APPLICATION_JSON)
  @Operation(
      summary = "Set faults: {errorRate 0..1, statusCode, latencyMs, phase before|after, failNext}")
  public Response setFaults(FaultInjector.Faults f) {
    try {
      faults.set(f == null ? FaultInjector.Faults.NONE : f);
      return Response.ok(faults.get()).build();
    } catch (IllegalArgumentException e) {
      return Problem.of(400, "Invalid faults", e.getMessage());
    }
  }

  @PUT
  @Path("/faults")
  @Consumes(MediaType.APPLICATION_JSON)
  public Response putFaults(FaultInjector.Faults f) {
    return setFaults(f);
  }

  @DELETE
  @Path("/faults")
  @Operation(summary = "Remove all faults")
  public FaultInjector.Faults clearFaults() {
    faults.clear();
    return faults.get();
  }

  @GET
  @Path("/stats")
  @Operation(summary = "Counters: charges made, requests, replays, injected faults")
  public Map<String, Object> stats() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("charges", charges.count());
    m.put("requests", ChargeResource.REQUESTS.get());
    m.put("replays", charges.replays());
    m.put("injectedFaults", faults.injectedCount());
    m.put("faults", faults.get());
    return m;
  }

  @GET
  @Path("/charges")
  public List<Charge> all() {
    return List.copyOf(charges.all());
  }

  @POST
  @Path("/reset")
  @Operation(summary = "Forget all charges and counters (faults stay)")
  public Map<String, Object> reset() {
    charges.reset();
    faults.resetCounters();
    ChargeResource.REQUESTS.set(0);
    return stats();
  }
}
