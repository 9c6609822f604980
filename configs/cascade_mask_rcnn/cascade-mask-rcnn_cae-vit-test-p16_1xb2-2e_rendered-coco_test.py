# Tiny twin of the Cascade Mask R-CNN config, for tests: the tiny Mask R-CNN twin (encoder, 32-wide heads, data,
# schedule) made into three cascade stages exactly as the full-size config makes its Mask R-CNN base.
_base_ = ['../mask_rcnn/mask-rcnn_cae-vit-test-p16_1xb2-2e_rendered-coco_test.py']

stage_target_stds = ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067])
stage_iou_thresholds = (0.5, 0.6, 0.7)

model = dict(
    type='CascadeRCNN',
    roi_head=dict(
        _delete_=True,
        type='CascadeRoIHead',
        num_stages=3,
        stage_loss_weights=[1, 0.5, 0.25],
        bbox_roi_extractor=_base_.model.roi_head.bbox_roi_extractor,
        bbox_head=[
            dict(
                _base_.model.roi_head.bbox_head,
                bbox_coder=dict(_base_.model.roi_head.bbox_head.bbox_coder, target_stds=stds),
            )
            for stds in stage_target_stds
        ],
        mask_roi_extractor=_base_.model.roi_head.mask_roi_extractor,
        mask_head=_base_.model.roi_head.mask_head,
    ),
    train_cfg=dict(
        rpn_proposal=dict(max_per_img=2000),
        rcnn=[
            dict(
                _base_.model.train_cfg.rcnn,
                assigner=dict(
                    _base_.model.train_cfg.rcnn.assigner,
                    pos_iou_thr=iou,
                    neg_iou_thr=iou,
                    min_pos_iou=iou,
                    match_low_quality=False,
                ),
            )
            for iou in stage_iou_thresholds
        ],
    ),
)
