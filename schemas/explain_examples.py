"""Worked examples of the explain routes for the OpenAPI docs (tests/schemas checks each one
validates; tests/explain runs them)."""

from typing import Any

from schemas.examples import SEED_PIPELINE

DIGIT_SEVEN: dict[str, Any] = {"mnist": {"split": "test", "index": 0}}
"""The first digit of MNIST's test split: a 7."""

RECEPTIVE_FIELD_EXAMPLES: dict[str, dict[str, Any]] = {
    "seed_pipeline_unit": {
        "summary": "The seed pipeline's max-pool unit (0, 5, 7) on the digit 7: a 6 x 6 box",
        "value": {
            "layers": SEED_PIPELINE,
            "input": DIGIT_SEVEN,
            "module": 2,
            "unit": {"channel": 0, "position": [5, 7]},
            "png": True,
        },
    },
    "resnet18_unit": {
        "summary": "resnet18's layer2 unit at (3, 3) on [1, 3, 224, 224]: 99 x 99, stride 8",
        "value": {
            "model": {"torchvision": "resnet18"},
            "module": "layer2",
            "unit": {"channel": 0, "position": [3, 3]},
        },
    },
    "vgg11_box": {
        "summary": "Which of vgg11's features.10 units see the input box 100..120 x 100..120",
        "value": {
            "model": {"torchvision": "vgg11"},
            "input_shape": [1, 3, 224, 224],
            "module": "features.10",
            "box": {"start": [100, 100], "end": [120, 120]},
        },
    },
}

ATTRIBUTE_EXAMPLES: dict[str, dict[str, Any]] = {
    "integrated_gradients_seven": {
        "summary": "IntegratedGradients of the seed pipeline's class 7 on the digit 7",
        "value": {
            "layers": SEED_PIPELINE,
            "input": DIGIT_SEVEN,
            "weights": {"seed": 0},
            "method": "integrated_gradients",
            "target": 7,
            "n_steps": 32,
            "baselines": 0.0,
            "scale": 8,
        },
    },
    "saliency_seven": {
        "summary": "Saliency of the seed pipeline's class 7 on the digit 7",
        "value": {
            "layers": SEED_PIPELINE,
            "input": DIGIT_SEVEN,
            "method": "saliency",
            "target": 7,
            "scale": 8,
        },
    },
    "occlusion_seven": {
        "summary": "Occlusion with 4 x 4 windows, stride 2, on the digit 7",
        "value": {
            "layers": SEED_PIPELINE,
            "input": DIGIT_SEVEN,
            "method": "occlusion",
            "target": 7,
            "sliding_window_shapes": [1, 4, 4],
            "strides": [1, 2, 2],
        },
    },
    "resnet18_gradcam": {
        "summary": "Grad-CAM at resnet18's layer4 (10 classes) on [1, 3, 64, 64], class 3",
        "value": {
            "model": {"torchvision": "resnet18", "kwargs": {"num_classes": 10}},
            "input": {"shape": [1, 3, 64, 64], "seed": 0},
            "method": "layer_gradcam",
            "layer": "layer4",
            "target": 3,
            "encoding": "base64",
        },
    },
}

SWEEP_EXAMPLES: dict[str, dict[str, Any]] = {
    "conv_kernel_size": {
        "summary": "Conv2d(1, 4, k) on the digit 7 for k in 1, 3, 5, 7, 29 (29 does not fit)",
        "value": {
            "layer": {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3},
            "input": DIGIT_SEVEN,
            "argument": "kernel_size",
            "values": [1, 3, 5, 7, 29],
            "include": [],
        },
    },
    "maxpool_stride": {
        "summary": "MaxPool2d(2, s) on the digit 7 for s in 1, 2, 3, 0 (0 is refused)",
        "value": {
            "layer": {"type": "maxpool2d", "kernel_size": 2},
            "input": DIGIT_SEVEN,
            "argument": "stride",
            "values": [1, 2, 3, 0],
            "include": [],
        },
    },
    "activation_name": {
        "summary": "relu, gelu, tanh and sigmoid on the same random input",
        "value": {
            "layer": {"type": "activation", "name": "relu"},
            "input": {"shape": [1, 1, 8, 8], "seed": 0},
            "argument": "name",
            "values": ["relu", "gelu", "tanh", "sigmoid"],
        },
    },
}
