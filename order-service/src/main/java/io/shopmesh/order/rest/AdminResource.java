package io.shopmesh.order.rest;

import io.shopmesh.order.service.PaymentReconciler;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;

/**
 * Operator endpoints, outside /api: the mesh's gateway does not route them (see docs/shop.md); call
 * them on the pod, or through a port-forward.
 */
@Path("/admin")
@Produces(MediaType.APPLICATION_JSON)
public class AdminResource {

  private final PaymentReconciler reconciler;

  public AdminResource(PaymentReconciler reconciler) {
    this.reconciler = reconciler;
  }

  @POST
  @Path("/reconcile")
  @Operation(summary = "Ask the payment provider about every unsettled order now")
  public PaymentReconciler.Summary reconcile() {
    return reconciler.reconcile(true);
  }
}
