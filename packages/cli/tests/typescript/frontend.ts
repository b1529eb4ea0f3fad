// A frontend that uses the generated client of examples/orders correctly: it must type-check.
import createServiceClient from "./client";

const client = createServiceClient({ baseUrl: "http://127.0.0.1:3111" });

export async function placeOrder(id: string): Promise<string> {
    const { data, error } = await client.POST("/_rpc/place_order", {
        body: { id, item: "book", quantity: 2 },
    });
    if (error !== undefined) {
        throw new Error(`${error.error} (request ${error.request_id})`);
    }
    const executionId: string = data;
    return executionId;
}

export async function orderPage(orderId: string): Promise<boolean> {
    const { response } = await client.GET("/orders/{order_id}", {
        params: { path: { order_id: orderId } },
    });
    return response.ok;
}
