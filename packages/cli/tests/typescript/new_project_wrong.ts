// Must fail to type-check: the new project's Signup has `email`, not `mail`.
import createServiceClient from "./shop_client";

const client = createServiceClient({ baseUrl: "http://127.0.0.1:3111" });

export const signedUp = client.POST("/_rpc/sign_up", {
    body: { user_id: "u1", mail: "ada@example.com", name: "Ada" },
});
