// What a front-end developer writes against the types openapi-typescript makes from
// layerscope's /openapi.json (`npm run generate`). tests/contract/test_typescript.py generates
// them from the live app, adds generated/readme_examples.ts (every request example of the
// README, typed as its operation's body) and compiles everything with `tsc --strict --noEmit`.
import type { components, paths } from "./generated/layerscope";

type Schemas = components["schemas"];
type Post<P extends keyof paths> = paths[P] extends { post: infer Op } ? Op : never;
type Answer<P extends keyof paths> = Post<P> extends { responses: { 200: { content: { "application/json": infer R } } } }
  ? R
  : never;
type ProblemOf<P extends keyof paths> = Post<P> extends { responses: { 422: { content: { "application/problem+json": infer R } } } }
  ? R
  : never;

export type LayerSpec = Schemas["LayerInspectRequest"]["layer"];

/** `type` is always there: the discriminator is required. */
export function tagOf(layer: LayerSpec): string {
  return layer.type;
}

/** Narrowing on `type` (then `name`, for activations) reaches each layer's own arguments. */
export function describe(layer: LayerSpec): string {
  switch (layer.type) {
    case "conv2d":
      return `Conv2d(${layer.in_channels}, ${layer.out_channels}, ${String(layer.kernel_size)})`;
    case "linear":
      return `Linear(${layer.in_features}, ${layer.out_features}, bias=${String(layer.bias)})`;
    case "maxpool2d":
      return `MaxPool2d(${String(layer.kernel_size)})`;
    case "activation":
      if (layer.name === "softmax") {
        return `Softmax(dim=${String(layer.dim)})`;
      }
      return layer.name;
    default:
      return layer.type;
  }
}

// @ts-expect-error: a layer without `type` is no layer spec.
export const untyped: LayerSpec = { in_features: 2, out_features: 1 };

// @ts-expect-error: `"yes"` is no boolean.
export const yes: LayerSpec = { type: "linear", in_features: 2, out_features: 1, bias: "yes" };

// A request with only what it needs: every field that has a default may be left out.
export const minimal: Post<"/v1/layers/inspect">["requestBody"]["content"]["application/json"] = {
  layer: { type: "activation", name: "relu" },
  input: { shape: [1, 4] },
};

/** The typed answers: a tensor's shape, a pipeline layer's output shape, a problem's fix. */
export function outputShape(answer: Answer<"/v1/layers/inspect">): number[] {
  return answer.output.shape;
}

export function layerShapes(answer: Answer<"/v1/models/inspect">): number[][] {
  return answer.layers.map((layer) => layer.output_shape);
}

export function firstFix(problem: ProblemOf<"/v1/layers/inspect">): string | null {
  return problem.errors[0].fix;
}
