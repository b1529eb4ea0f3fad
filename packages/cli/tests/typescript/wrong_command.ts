// Must fail to type-check: the service has no command `place_ordr`.
import createServiceClient from "./client";

const client = createServiceClient({ baseUrl: "http://127.0.0.1:3111" });

export const placed = client.POST("/_rpc/place_ordr", {
    body: { id: "o1", item: "book", quantity: 2 },
});
