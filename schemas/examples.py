"""Worked examples for the OpenAPI docs (and the tests that check each one's output shape)."""

from typing import Any

LAYER_EXAMPLES: dict[str, dict[str, Any]] = {
    "mnist_conv": {
        "summary": "Conv2d(1, 20, 5, 1) on [1, 1, 28, 28] -> [1, 20, 24, 24]",
        "value": {
            "layer": {
                "type": "conv2d",
                "in_channels": 1,
                "out_channels": 20,
                "kernel_size": 5,
                "stride": 1,
            },
            "input": {"shape": [1, 1, 28, 28], "seed": 0},
            "backward": {"target": "sum"},
            "include": ["output"],
        },
    },
    "strided_dilated_conv": {
        "summary": "Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1)) "
        "on [20, 16, 50, 100] -> [20, 33, 26, 100]",
        "value": {
            "layer": {
                "type": "conv2d",
                "in_channels": 16,
                "out_channels": 33,
                "kernel_size": [3, 5],
                "stride": [2, 1],
                "padding": [4, 2],
                "dilation": [3, 1],
            },
            "input": {"shape": [20, 16, 50, 100]},
            "include": [],
            "encoding": "base64",
        },
    },
    "linear": {
        "summary": "Linear(20, 30) on [128, 20] -> [128, 30]",
        "value": {
            "layer": {"type": "linear", "in_features": 20, "out_features": 30},
            "input": {"shape": [128, 20], "seed": 1},
            "backward": {"target": "mean"},
            "include": ["parameters", "gradients"],
        },
    },
    "maxpool": {
        "summary": "MaxPool2d(2, 2) on [1, 20, 24, 24] -> [1, 20, 12, 12]",
        "value": {
            "layer": {"type": "maxpool2d", "kernel_size": 2, "stride": 2},
            "input": {"shape": [1, 20, 24, 24]},
            "backward": {"target": "sum"},
            "include": ["gradients"],
        },
    },
    "softmax": {
        "summary": "softmax(dim=1) on [1, 10] -> [1, 10]",
        "value": {
            "layer": {"type": "activation", "name": "softmax", "dim": 1},
            "input": {
                "tensor": {
                    "shape": [1, 10],
                    "data": [0.1, 2.0, -1.0, 0.5, 3.0, 0.0, -0.5, 1.5, 0.2, 0.9],
                }
            },
            "backward": {"grad_output": {"shape": [1, 10], "data": [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]}},
        },
    },
    "batchnorm2d_train": {
        "summary": "BatchNorm2d(20) in train mode on [8, 20, 24, 24] -> [8, 20, 24, 24]: batch "
        "statistics, running statistics updated",
        "value": {
            "layer": {"type": "batchnorm2d", "num_features": 20},
            "input": {"shape": [8, 20, 24, 24], "seed": 0},
            "mode": "train",
            "backward": {"target": "sum"},
            "include": ["parameters", "buffers"],
        },
    },
    "convtranspose2d": {
        "summary": "ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1) on "
        "[1, 16, 12, 12] -> [1, 8, 24, 24]",
        "value": {
            "layer": {
                "type": "convtranspose2d",
                "in_channels": 16,
                "out_channels": 8,
                "kernel_size": 3,
                "stride": 2,
                "padding": 1,
                "output_padding": 1,
            },
            "input": {"shape": [1, 16, 12, 12], "seed": 0},
            "include": [],
        },
    },
    "upsample_bilinear": {
        "summary": "Upsample(scale_factor=2, mode='bilinear') on [1, 3, 14, 14] -> [1, 3, 28, 28]",
        "value": {
            "layer": {"type": "upsample", "scale_factor": 2, "mode": "bilinear"},
            "input": {"shape": [1, 3, 14, 14], "seed": 0},
            "backward": {"target": "mean"},
            "include": ["output"],
        },
    },
    "embedding": {
        "summary": "Embedding(10, 4) on int64 indices [2, 5] -> [2, 5, 4]",
        "value": {
            "layer": {"type": "embedding", "num_embeddings": 10, "embedding_dim": 4},
            "input": {"shape": [2, 5], "seed": 0, "dtype": "int64", "high": 10},
            "backward": {"target": "sum"},
            "include": ["input", "output", "gradients"],
        },
    },
}

LAYER_EXAMPLE_OUTPUT_SHAPES: dict[str, list[int]] = {
    "mnist_conv": [1, 20, 24, 24],
    "strided_dilated_conv": [20, 33, 26, 100],
    "linear": [128, 30],
    "maxpool": [1, 20, 12, 12],
    "softmax": [1, 10],
    "batchnorm2d_train": [8, 20, 24, 24],
    "convtranspose2d": [1, 8, 24, 24],
    "upsample_bilinear": [1, 3, 28, 28],
    "embedding": [2, 5, 4],
}

SEED_PIPELINE: list[dict[str, Any]] = [
    {"type": "conv2d", "in_channels": 1, "out_channels": 20, "kernel_size": 5, "stride": 1},
    {"type": "activation", "name": "relu"},
    {"type": "maxpool2d", "kernel_size": 2, "stride": 2},
    {"type": "flatten"},
    {"type": "linear", "in_features": 2880, "out_features": 10},
    {"type": "activation", "name": "softmax", "dim": 1},
]
"""Conv2d(1, 20, 5, 1) -> ReLU -> MaxPool2d(2, 2) -> Flatten -> Linear(2880, 10) -> Softmax."""

SEED_PIPELINE_SHAPES: list[list[int]] = [
    [1, 20, 24, 24],
    [1, 20, 24, 24],
    [1, 20, 12, 12],
    [1, 2880],
    [1, 10],
    [1, 10],
]
"""Output shape of each layer of the seed pipeline on a [1, 1, 28, 28] input."""

MODEL_EXAMPLES: dict[str, dict[str, Any]] = {
    "seed_pipeline": {
        "summary": "conv -> relu -> max-pool -> flatten -> linear -> softmax on [1, 1, 28, 28]",
        "value": {
            "layers": SEED_PIPELINE,
            "input": {"shape": [1, 1, 28, 28], "seed": 0},
            "weights": {"seed": 0},
            "backward": {"target": "sum"},
            "include": ["output", "gradients"],
        },
    },
    "forward_only_base64": {
        "summary": "The seed pipeline forward only, shapes and stats (no values)",
        "value": {
            "layers": SEED_PIPELINE,
            "input": {"shape": [8, 1, 28, 28], "seed": 3},
            "include": [],
            "encoding": "base64",
        },
    },
    "mnist_batch": {
        "summary": "The seed pipeline on a shuffled MNIST batch of 8 (DataLoader(batch_size=8, "
        "shuffle=True), generator seed 0): [8, 1, 28, 28] -> [8, 10], labels beside the argmax",
        "value": {
            "layers": SEED_PIPELINE,
            "input": {"mnist": {"split": "test", "batch_size": 8, "shuffle": True, "seed": 0}},
            "weights": {"seed": 0},
            "include": ["output"],
        },
    },
    "mlp_grad_output": {
        "summary": "Linear(4, 8) -> tanh -> Linear(8, 2), backward with an explicit grad_output",
        "value": {
            "layers": [
                {"type": "linear", "in_features": 4, "out_features": 8},
                {"type": "activation", "name": "tanh"},
                {"type": "linear", "in_features": 8, "out_features": 2},
            ],
            "input": {"shape": [3, 4], "seed": 1},
            "backward": {"grad_output": {"shape": [3, 2], "data": [1, 0, 0, 1, 1, 1]}},
        },
    },
    "torchvision_resnet18": {
        "summary": "torchvision resnet18 (random weights, 10 classes) on [1, 3, 32, 32]: conv1, "
        "layer1.0's modules and fc, with their output gradients",
        "value": {
            "model": {"torchvision": "resnet18", "kwargs": {"num_classes": 10}},
            "input": {"shape": [1, 3, 32, 32], "seed": 0},
            "weights": {"seed": 0},
            "select": ["conv1", "layer1.0.*", "fc"],
            "depth": 2,
            "backward": {"target": "sum"},
            "include": ["output", "gradients"],
            "encoding": "base64",
        },
    },
}

SUMMARY_EXAMPLES: dict[str, dict[str, Any]] = {
    "seed_pipeline": {
        "summary": "The seed pipeline on [1, 1, 28, 28]",
        "value": {"layers": SEED_PIPELINE, "input_shape": [1, 1, 28, 28]},
    },
    "large_batch": {
        "summary": "A CNN on [64, 3, 1024, 1024], on meta: milliseconds, nothing allocated",
        "value": {
            "layers": [
                {
                    "type": "conv2d",
                    "in_channels": 3,
                    "out_channels": 16,
                    "kernel_size": 3,
                    "padding": 1,
                },
                {"type": "activation", "name": "relu"},
                {"type": "maxpool2d", "kernel_size": 32},
                {"type": "maxpool2d", "kernel_size": 4},
                {"type": "flatten"},
                {"type": "linear", "in_features": 1024, "out_features": 10},
            ],
            "input_shape": [64, 3, 1024, 1024],
        },
    },
    "drops_columns": {
        "summary": "Conv2d(3, 8, 3, stride=2) on [1, 3, 32, 32]: warns that a row and column drop",
        "value": {
            "layers": [
                {
                    "type": "conv2d",
                    "in_channels": 3,
                    "out_channels": 8,
                    "kernel_size": 3,
                    "stride": 2,
                },
            ],
            "input_shape": [1, 3, 32, 32],
        },
    },
    "torchvision_resnet50": {
        "summary": "torchvision resnet50 on [64, 3, 224, 224] -> [64, 1000], on meta: its table, "
        "FLOPs and memory estimate without allocating anything",
        "value": {"model": {"torchvision": "resnet50"}, "input_shape": [64, 3, 224, 224]},
    },
}
