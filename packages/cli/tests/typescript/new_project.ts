// A frontend of the service `eventual new my-shop` writes, using its generated client: it must type-check.
import createServiceClient from "./shop_client";

const client = createServiceClient({ baseUrl: "http://127.0.0.1:3111" });

export async function signUp(userId: string): Promise<string> {
    const { data, error } = await client.POST("/_rpc/sign_up", {
        body: { user_id: userId, email: "ada@example.com", name: "Ada" },
    });
    if (error !== undefined) {
        throw new Error(`${error.error} (request ${error.request_id})`);
    }
    const executionId: string = data;
    return executionId;
}
