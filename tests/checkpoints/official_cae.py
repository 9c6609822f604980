"""A state dict in the official CAE code's layout (Atten4Vis/CAE ``ContextAutoencoderViT``), written from its names."""

import torch

from cae_mm.models.layers import build_2d_sincos_position_embedding


def official_state_dict(
    width: int = 32, decoder_width: int = 32, depth: int = 2, head_depth: int = 2, vocab: int = 8192
) -> dict[str, torch.Tensor]:
    """A state dict with the official ``ContextAutoencoderViT``'s names and shapes (Atten4Vis/CAE), random values."""
    shapes = {
        'encoder.cls_token': (1, 1, width),
        'encoder.patch_embed.proj.weight': (width, 3, 16, 16),
        'encoder.patch_embed.proj.bias': (width,),
        'encoder.norm.weight': (width,),
        'encoder.norm.bias': (width,),
        'mask_token': (1, 1, decoder_width),
    }

    def self_attention_block(prefix: str, dims: int) -> None:
        for norm in ('norm1', 'norm2'):
            shapes[f'{prefix}.{norm}.weight'] = shapes[f'{prefix}.{norm}.bias'] = (dims,)
        shapes.update(
            {
                f'{prefix}.attn.qkv.weight': (3 * dims, dims),
                f'{prefix}.attn.q_bias': (dims,),
                f'{prefix}.attn.v_bias': (dims,),
                f'{prefix}.attn.proj.weight': (dims, dims),
                f'{prefix}.attn.proj.bias': (dims,),
                f'{prefix}.mlp.fc1.weight': (4 * dims, dims),
                f'{prefix}.mlp.fc1.bias': (4 * dims,),
                f'{prefix}.mlp.fc2.weight': (dims, 4 * dims),
                f'{prefix}.mlp.fc2.bias': (dims,),
                f'{prefix}.gamma_1': (dims,),
                f'{prefix}.gamma_2': (dims,),
            }
        )

    for index in range(depth):
        self_attention_block(f'encoder.blocks.{index}', width)
    for index in range(head_depth):
        prefix, dims = f'regresser.regressor_blocks.{index}', decoder_width
        for norm in ('norm1_q', 'norm1_k', 'norm1_v', 'norm2_cross'):
            shapes[f'{prefix}.{norm}.weight'] = shapes[f'{prefix}.{norm}.bias'] = (dims,)
        for projection in 'qkv':
            shapes[f'{prefix}.cross_attn.{projection}.weight'] = (dims, dims)
        shapes.update(
            {
                f'{prefix}.cross_attn.q_bias': (dims,),
                f'{prefix}.cross_attn.v_bias': (dims,),
                f'{prefix}.cross_attn.proj.weight': (dims, dims),
                f'{prefix}.cross_attn.proj.bias': (dims,),
                f'{prefix}.mlp_cross.fc1.weight': (4 * dims, dims),
                f'{prefix}.mlp_cross.fc1.bias': (4 * dims,),
                f'{prefix}.mlp_cross.fc2.weight': (dims, 4 * dims),
                f'{prefix}.mlp_cross.fc2.bias': (dims,),
                f'{prefix}.gamma_1_cross': (dims,),
                f'{prefix}.gamma_2_cross': (dims,),
            }
        )
        self_attention_block(f'decoder.decoder_blocks.{index}', decoder_width)
    shapes.update(
        {
            'regresser.norm.weight': (decoder_width,),
            'regresser.norm.bias': (decoder_width,),
            'decoder.norm.weight': (decoder_width,),
            'decoder.norm.bias': (decoder_width,),
            'decoder.head.weight': (vocab, decoder_width),
            'decoder.head.bias': (vocab,),
        }
    )
    if decoder_width != width:
        shapes.update(
            {
                'encoder_to_regresser.weight': (decoder_width, width),
                'encoder_to_regresser.bias': (decoder_width,),
                'encoder_to_regresser_norm.weight': (decoder_width,),
                'encoder_to_regresser_norm.bias': (decoder_width,),
            }
        )
    generator = torch.Generator().manual_seed(0)
    state_dict = {key: torch.randn(shape, generator=generator) for key, shape in shapes.items()}
    state_dict.update(
        {
            f'alignment_encoder.{key[len("encoder.") :]}': tensor.clone()
            for key, tensor in state_dict.items()
            if key.startswith('encoder.')
        }
    )
    state_dict['encoder.pos_embed'] = build_2d_sincos_position_embedding((14, 14), width)
    state_dict['alignment_encoder.pos_embed'] = build_2d_sincos_position_embedding((14, 14), width)
    state_dict['rd_pos_embed'] = build_2d_sincos_position_embedding((14, 14), decoder_width)
    return state_dict
