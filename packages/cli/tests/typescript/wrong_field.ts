// Must fail to type-check: an Order has `quantity`, not `qty`.
import createServiceClient from "./client";

const client = createServiceClient({ baseUrl: "http://127.0.0.1:3111" });

export const placed = client.POST("/_rpc/place_order", {
    body: { id: "o1", item: "book", qty: 2 },
});
