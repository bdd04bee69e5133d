"""PyTorch definitions of Shrink's model zoo, kept in the project as the reference for the C++ zoo
(nn/models/).

Both sides must agree on class names, submodule names and registration order (hence state_dict
keys and repr), parameter shapes and the forward computation, so that weights saved by one side
load into the other. Inputs are [N, 1, 28, 28] (Fashion-MNIST), outputs [N, 10] logits.

Used by tests/fixtures/gen_models.py (models.json, read by tests/nn/models/registry_test.cpp),
tests/interop/state_dict_interop.py and bench/zoo_vs_torch.py. Needs Debian's python3-torch:
`/usr/bin/python3 tests/reference/models.py` lists every model's keys, shapes, parameter count
and multiply-accumulate (MAC) count.
"""
import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    """LeNet-300-100: 784 → 300 → 100 → 10 with ReLUs."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc3 = nn.Linear(100, 10)

    def forward(self, x):
        h = F.relu(self.fc1(x.flatten(1)))
        h = F.relu(self.fc2(h))
        return self.fc3(h)


class Naive(nn.Module):
    """The model of NNI's MNIST examples: two 5×5 convs (20, 50), each ReLU + 2×2 max pool, then
    800 → 500 → 10. Its activations and pools are modules (relu1..3, max_pool1..2)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, kernel_size=5, stride=1)
        self.conv2 = nn.Conv2d(20, 50, kernel_size=5, stride=1)
        self.fc1 = nn.Linear(50 * 4 * 4, 500)
        self.fc2 = nn.Linear(500, 10)
        for i in (1, 2, 3):
            setattr(self, f'relu{i}', nn.ReLU())
        for i in (1, 2):
            setattr(self, f'max_pool{i}', nn.MaxPool2d(kernel_size=2, stride=2))

    def forward(self, x):
        h = self.max_pool1(self.relu1(self.conv1(x)))
        h = self.max_pool2(self.relu2(self.conv2(h)))
        h = self.relu3(self.fc1(h.flatten(1)))
        return self.fc2(h)


class LeNet5(nn.Module):
    """LeNet-5: conv 6 (5×5, padding 2) and conv 16 (5×5), each ReLU + 2×2 max pool, then
    400 → 120 → 84 → 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        for conv in (self.conv1, self.conv2):
            x = F.max_pool2d(F.relu(conv(x)), kernel_size=2)
        h = F.relu(self.fc1(x.flatten(1)))
        h = F.relu(self.fc2(h))
        return self.fc3(h)


class VGGSmall(nn.Module):
    """Three stages of two (conv 3×3 padding 1, BatchNorm, ReLU) and a 2×2 max pool, with 32, 64
    and 128 channels, then a 1152 → 10 classifier. In `features`, the convs are 0, 3, 7, 10, 14,
    17, the BatchNorms 1, 4, 8, 11, 15, 18 and the pools 6, 13, 20."""

    def __init__(self):
        super().__init__()
        layers, cin = [], 1
        for width in (32, 64, 128):
            for _ in range(2):
                layers += [nn.Conv2d(cin, width, kernel_size=3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
                cin = width
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(128 * 3 * 3, 10)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class BasicBlock(nn.Module):
    """ResNet basic block: conv-BN-ReLU-conv-BN plus the identity (or a strided 1×1 conv + BN
    `downsample` when the shape changes), then ReLU. Convs have no bias."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        needs_projection = stride != 1 or cin != cout
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False),
                                         nn.BatchNorm2d(cout)) if needs_projection else None)

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + shortcut)


def _stage(cin, cout, stride):
    return nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1), BasicBlock(cout, cout, 1))


class ResNet20(nn.Module):
    """CIFAR-style ResNet-20 for one input channel: stem conv 16 + BN + ReLU, three stages of three
    basic blocks (16, 32 stride 2, 64 stride 2), global average pool, 64 → 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = _stage(16, 16, 1)
        self.layer2 = _stage(16, 32, 2)
        self.layer3 = _stage(32, 64, 2)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        for stage in (self.layer1, self.layer2, self.layer3):
            h = stage(h)
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


class DepthwiseSeparable(nn.Module):
    """Depthwise 3×3 conv (stride s) + BN + ReLU6, then pointwise 1×1 conv + BN + ReLU6; no biases."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.dw = nn.Conv2d(cin, cin, kernel_size=3, stride=stride, padding=1, groups=cin, bias=False)
        self.dw_bn = nn.BatchNorm2d(cin)
        self.pw = nn.Conv2d(cin, cout, kernel_size=1, bias=False)
        self.pw_bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        h = F.relu6(self.dw_bn(self.dw(x)))
        return F.relu6(self.pw_bn(self.pw(h)))


class MobileNetSmall(nn.Module):
    """Stem conv 16 + BN + ReLU6, depthwise-separable blocks to 32 (stride 2), 64 (stride 2), 128
    and 128, global average pool, 128 → 10."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, kernel_size=3, stride=1, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        plan = ((16, 32, 2), (32, 64, 2), (64, 128, 1), (128, 128, 1))
        self.blocks = nn.Sequential(*(DepthwiseSeparable(cin, cout, s) for cin, cout, s in plan))
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        h = self.blocks(F.relu6(self.stem_bn(self.stem(x))))
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


class InceptionBlock(nn.Module):
    """Parallel 1×1 (16), 3×3 (24) and 5×5 (8) convs, 'same' padding, concatenated on channels
    (48), then BN + ReLU."""

    def __init__(self, cin):
        super().__init__()
        self.b1 = nn.Conv2d(cin, 16, kernel_size=1)
        self.b3 = nn.Conv2d(cin, 24, kernel_size=3, padding=1)
        self.b5 = nn.Conv2d(cin, 8, kernel_size=5, padding=2)
        self.bn = nn.BatchNorm2d(16 + 24 + 8)

    def forward(self, x):
        branches = [self.b1(x), self.b3(x), self.b5(x)]
        return F.relu(self.bn(torch.cat(branches, dim=1)))


class InceptionSmall(nn.Module):
    """Stem conv 32 + ReLU + 2×2 max pool, two inception blocks, conv 64 + ReLU + 2×2 max pool,
    3136 → 10."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        self.block1 = InceptionBlock(32)
        self.block2 = InceptionBlock(48)
        self.conv = nn.Conv2d(48, 64, kernel_size=3, padding=1)
        self.fc = nn.Linear(64 * 7 * 7, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.stem(x)), 2)
        h = self.block2(self.block1(h))
        h = F.max_pool2d(F.relu(self.conv(h)), 2)
        return self.fc(h.flatten(1))


# The zoo, in the order of nn/models/registry.h.
ZOO = {
    'mlp': MLP,
    'naive': Naive,
    'lenet5': LeNet5,
    'vgg_small': VGGSmall,
    'resnet20': ResNet20,
    'mobilenet_small': MobileNetSmall,
    'inception_small': InceptionSmall,
}


def count_macs(model, x):
    """Multiply-accumulates of the Conv2d and Linear layers in one forward pass of x, per image
    (x's batch size does not matter)."""
    total = 0

    def count(module, _inputs, out):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += out[0].numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features

    handles = [m.register_forward_hook(count) for m in model.modules()]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return total


def main():
    for name, cls in ZOO.items():
        model = cls().eval()
        x = torch.randn(1, 1, 28, 28)
        if model(x).shape != (1, 10):
            raise SystemExit(f'{name}: expected [1, 10] logits')
        params = sum(p.numel() for p in model.parameters())
        print(f'{name}: params {params}, MACs {count_macs(model, x)}')
        for key, value in model.state_dict().items():
            print(f'    {key} {list(value.shape)}')


if __name__ == '__main__':
    main()
