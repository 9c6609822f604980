# Small-scale benchmark, CAE without alignment (λ = 0; the paper's Table 5 ablation): the same run as
# cae_vit-tiny-p8_1xb64-pixel-800i_tiny-imagenet-10.py with the alignment loss switched off.
_base_ = ['./cae_vit-tiny-p8_1xb64-pixel-800i_tiny-imagenet-10.py']
model = dict(head=dict(alignment_weight=0.0))
