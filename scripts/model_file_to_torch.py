#!/usr/bin/python3
"""Rebuilds a Shrink model file (format "shrink.model", written by io::save_model) as a
torch.nn.Module, without the model's source: the `graph` attribute's JSON gives the layers
(type and constructor options, "modules") and the graph (module calls and functional ops,
"nodes"); the datasets are the state_dict. See docs/architecture.md, "model file".

As a program:
    /usr/bin/python3 scripts/model_file_to_torch.py model.h5                  # prints the model
    /usr/bin/python3 scripts/model_file_to_torch.py model.h5 --input in.h5 --output out.h5
runs the model (eval mode, no grad) on the dataset "input" of in.h5 and writes the result as the
dataset "logits" of out.h5.

As a module: `model_file_to_torch.load(path)` returns the torch.nn.Module in eval mode; its
state_dict keys are the Shrink model's dotted names.

Needs torch and h5py (Debian: python3-torch python3-h5py).
"""
import argparse
import json
import sys

import h5py
import torch
from torch import nn
from torch.nn import functional as F


def _pair(v):
    return tuple(int(x) for x in v)


def _build_module(entry):
    """A torch layer from one entry of "modules": {"name", "type", "options"}."""
    kind, o = entry['type'], entry['options']
    if kind == 'Conv2d':
        return nn.Conv2d(o['in_channels'], o['out_channels'], _pair(o['kernel_size']), stride=_pair(o['stride']),
                         padding=_pair(o['padding']), dilation=_pair(o['dilation']), groups=o['groups'],
                         bias=o['bias'])
    if kind == 'Linear':
        return nn.Linear(o['in_features'], o['out_features'], bias=o['bias'])
    if kind in ('BatchNorm1d', 'BatchNorm2d'):
        return getattr(nn, kind)(o['num_features'], eps=o['eps'], momentum=o['momentum'], affine=o['affine'],
                                 track_running_stats=o['track_running_stats'])
    if kind == 'MaxPool2d':
        return nn.MaxPool2d(_pair(o['kernel_size']), stride=_pair(o['stride']), padding=_pair(o['padding']),
                            dilation=_pair(o['dilation']), ceil_mode=o['ceil_mode'])
    if kind == 'AvgPool2d':
        return nn.AvgPool2d(_pair(o['kernel_size']), stride=_pair(o['stride']), padding=_pair(o['padding']),
                            ceil_mode=o['ceil_mode'], count_include_pad=o['count_include_pad'])
    if kind == 'AdaptiveAvgPool2d':
        return nn.AdaptiveAvgPool2d(_pair(o['output_size']))
    if kind == 'LeakyReLU':
        return nn.LeakyReLU(o['negative_slope'])
    if kind == 'GELU':
        return nn.GELU(approximate=o['approximate'])
    if kind == 'Flatten':
        return nn.Flatten(o['start_dim'], o['end_dim'])
    if kind == 'Dropout':
        return nn.Dropout(o['p'])
    if kind in ('ReLU', 'ReLU6', 'Sigmoid', 'Tanh', 'Identity'):
        return getattr(nn, kind)()
    raise ValueError(f'module {entry["name"]!r}: unknown type {kind!r}')


def _attrs(node):
    """A function node's attributes as a dict; {"float": v} becomes v."""
    out = {}
    for key, value in node['attrs']:
        out[key] = value['float'] if isinstance(value, dict) else value
    return out


def _reduce(fn, x, a):
    dims = a['dims']
    if not dims:  # Shrink: empty dims = every dim
        dims = list(range(x.dim()))
    return fn(x, dim=dims, keepdim=a['keepdim'])


def _reshape(x, a):
    # Shrink replays a reshape with dim 0 inferred (the recorded shape holds the traced batch
    # size), unless another dim is the inferred one already.
    shape = list(a['shape'])
    if len(shape) > 1 and -1 not in shape[1:]:
        shape[0] = -1
    return x.reshape(shape)


def _slice(x, a):
    index = [slice(None)] * x.dim()
    index[a['dim']] = slice(a['start'], a['end'], a['step'])
    return x[tuple(index)]


def _stride(a):
    # A recorded stride of 0 means the kernel size (PyTorch's stride=None).
    return tuple(s if s else k for s, k in zip(a['stride'], a['kernel']))


# Shrink's functional ops (speedup/functional_ops.cpp) in PyTorch: op -> f(inputs, attrs).
FUNCTIONS = {
    'add': lambda t, a: t[0] + t[1],
    'sub': lambda t, a: t[0] - t[1],
    'mul': lambda t, a: t[0] * t[1],
    'div': lambda t, a: t[0] / t[1],
    'add_scalar': lambda t, a: t[0] + a['other'],
    'sub_scalar': lambda t, a: t[0] - a['other'],
    'mul_scalar': lambda t, a: t[0] * a['other'],
    'div_scalar': lambda t, a: t[0] / a['other'],
    'pow_scalar': lambda t, a: t[0].pow(a['exponent']),
    'neg': lambda t, a: -t[0],
    'exp': lambda t, a: t[0].exp(),
    'relu': lambda t, a: F.relu(t[0]),
    'relu6': lambda t, a: F.relu6(t[0]),
    'leaky_relu': lambda t, a: F.leaky_relu(t[0], a['negative_slope']),
    'gelu': lambda t, a: F.gelu(t[0], approximate=a['approximate']),
    'sigmoid': lambda t, a: torch.sigmoid(t[0]),
    'tanh': lambda t, a: torch.tanh(t[0]),
    'clamp': lambda t, a: torch.clamp(t[0], a.get('min'), a.get('max')),
    'flatten': lambda t, a: t[0].flatten(a['start_dim'], a['end_dim']),
    'reshape': lambda t, a: _reshape(t[0], a),
    'transpose': lambda t, a: t[0].transpose(a['dim0'], a['dim1']),
    'permute': lambda t, a: t[0].permute(a['dims']),
    'unsqueeze': lambda t, a: t[0].unsqueeze(a['dim']),
    'narrow': lambda t, a: t[0].narrow(a['dim'], a['start'], a['length']),
    'slice': lambda t, a: _slice(t[0], a),
    'cat': lambda t, a: torch.cat(t, a['dim']),
    'max_pool2d': lambda t, a: F.max_pool2d(t[0], a['kernel'], _stride(a), a['padding'], a['dilation'],
                                            ceil_mode=a['ceil_mode']),
    'avg_pool2d': lambda t, a: F.avg_pool2d(t[0], a['kernel'], _stride(a), a['padding'], ceil_mode=a['ceil_mode'],
                                            count_include_pad=a['count_include_pad']),
    'adaptive_avg_pool2d': lambda t, a: F.adaptive_avg_pool2d(t[0], a['output_size']),
    'mean': lambda t, a: _reduce(torch.mean, t[0], a),
    'sum': lambda t, a: _reduce(torch.sum, t[0], a),
    'identity': lambda t, a: t[0],
}


class GraphModel(nn.Module):
    """Runs a Shrink graph: module nodes call the layers registered under their dotted names,
    function nodes run FUNCTIONS."""

    def __init__(self, graph):
        super().__init__()
        # Underscored: a layer of the model may be called "nodes" or "output".
        self._shrink_nodes = graph['nodes']
        self._shrink_output = graph['output']
        for entry in graph['modules']:
            parent, *path = [self] + entry['name'].split('.')
            for part in path[:-1]:
                if not hasattr(parent, part):
                    parent.add_module(part, nn.Module())
                parent = getattr(parent, part)
            parent.add_module(path[-1], _build_module(entry))
        for node in self._shrink_nodes:
            if node['kind'] == 'function' and node['target'] not in FUNCTIONS:
                raise ValueError(f'node {node["name"]!r}: op {node["target"]!r} has no PyTorch rule here')
        # The last use of each value, so that activations are freed as in Shrink's GraphModule.
        self._shrink_last_use = {}
        for i, node in enumerate(self._shrink_nodes):
            for j in node['inputs']:
                self._shrink_last_use[j] = i

    def forward(self, x):
        values = {}
        for i, node in enumerate(self._shrink_nodes):
            args = [values[j] for j in node['inputs']]
            if node['kind'] == 'input':
                values[i] = x
            elif node['kind'] == 'module':
                values[i] = self.get_submodule(node['target'])(args[0])
            else:
                values[i] = FUNCTIONS[node['target']](args, _attrs(node))
            for j in node['inputs']:
                if self._shrink_last_use[j] == i and j != self._shrink_output:
                    del values[j]
        return values[self._shrink_output]


def load(path):
    """The model of the Shrink model file `path` as a torch.nn.Module in eval mode."""
    with h5py.File(path, 'r') as f:
        fmt = f.attrs.get('format', b'')
        fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        if fmt != 'shrink.model':
            raise ValueError(f'{path}: expected format "shrink.model", got {fmt!r}')
        graph = json.loads(f.attrs['graph'])
        state_dict = {k: torch.from_numpy(f[k][()]) for k in f}
    model = GraphModel(graph)
    # 0-d entries (num_batches_tracked) are stored as [1]; PyTorch accepts them for 0-d buffers.
    model.load_state_dict(state_dict)  # strict: same keys and shapes
    return model.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('model', help='a Shrink model file (io::save_model)')
    parser.add_argument('--input', help='an HDF5 file with a dataset "input" to run the model on')
    parser.add_argument('--output', help='where to write the dataset "logits" (with --input)')
    args = parser.parse_args()
    model = load(args.model)
    if args.input is None:
        print(model)
        return 0
    with h5py.File(args.input, 'r') as f:
        x = torch.from_numpy(f['input'][()])
    with torch.no_grad():
        y = model(x)
    print(f'{args.model}: output {list(y.shape)}')
    if args.output:
        with h5py.File(args.output, 'w') as f:
            f['logits'] = y.numpy()
    return 0


if __name__ == '__main__':
    sys.exit(main())
