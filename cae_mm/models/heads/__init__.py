from .cae_decoder_head import CAEDecoderHead

__all__ = ['CAEDecoderHead']
